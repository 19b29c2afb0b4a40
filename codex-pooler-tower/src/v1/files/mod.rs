//! `/v1/files`: uploads through the backend file flow, and their metadata per key.
//!
//! `POST /v1/files` is a layer below `ReadBody` (`upload`); the metadata routes are answered
//! by `LocalRoutes` from the [`FileCatalog`] (`metadata`). Metadata is kept in memory, per
//! replica, for 24 h: it does not survive a restart.

mod catalog;
mod metadata;
mod upload;

pub(crate) use catalog::FileCatalog;
pub(crate) use metadata::answer as metadata_answer;
pub(crate) use upload::{FileUploads, V1FileUploadLayer};
