//! Tests of the upstream client against a tiny in-process axum server.
