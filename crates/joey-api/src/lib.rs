//! joey-api
