//! The serving path: request/response codecs (pandas-records JSON, Arrow IPC, Wallaroo JSON),
//! the pipeline executor (steps over Arrow batches on the ONNX engine), and the in-process
//! deployment manager (replicas, status, hot swap).

pub mod codec;
pub mod deployments;
pub mod executor;
mod recent;
pub mod serving;

pub use deployments::{Deployments, Health, InferError, LiveDeployment};
