//! Reading a pooled request's body whole: the wire-size limit, then `zstd`/`gzip` decoding with
//! its own caps ([`decode`](crate::decode)). Routing reads the JSON body before anything is sent
//! upstream, so the body is buffered here, once.

mod collect;
mod layer;
mod service;

pub(crate) use collect::collect_limited;
pub(crate) use layer::ReadBodyLayer;
