//! joey-artifacts
