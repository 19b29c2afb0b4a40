//! A created file lives on the account that created it: the pool remembers the file id the
//! upstream answer names, so requests naming it (finalizing the upload) are pinned there.

mod layer;
mod service;

pub(crate) use layer::LearnFileLayer;
