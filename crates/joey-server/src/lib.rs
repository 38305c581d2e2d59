//! The composition root: settings, telemetry, and `Application::build`, which picks the concrete
//! store, wires the platform, bootstraps identity, binds the listener and serves.

pub mod cli;
pub mod inspector;
pub mod settings;
pub mod startup;
pub mod telemetry;
