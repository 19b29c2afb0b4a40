//! Finalizing an upload names a file in its path: it must be a valid id the pool learned from a
//! creation it routed, checked before the body is read or anything is planned.

mod layer;
mod service;

pub(crate) use layer::KnownFileLayer;
