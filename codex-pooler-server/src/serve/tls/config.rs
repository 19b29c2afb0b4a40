//! The server's TLS configuration, read from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file is not valid PEM.
    #[error("invalid certificate PEM in {}: {source}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate (BEGIN CERTIFICATE) in {}", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable private key.
    #[error("no private key (PKCS#8, PKCS#1 or SEC1 PEM) in {}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: pem::Error,
    },
    /// rustls refused the pair, e.g. the key does not match the certificate.
    #[error("unusable certificate and key: {0}")]
    Rejected(#[from] rustls::Error),
}

/// A checked TLS server configuration: certificate chain, key, ALPN `h2` and `http/1.1`, the
/// ring provider.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key and checks that they
    /// belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = certificates(cert)?;
        let key = private_key(key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        // Prefer HTTP/2; websockets (HTTP/1.1 upgrades) still work for clients offering only
        // http/1.1 or no ALPN at all.
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }

    /// The rustls server configuration.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Certificate {
            path: path.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|source| TlsError::Key {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn load_pems(cert: &str, key: &str) -> Result<TlsConfig, TlsError> {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        TlsConfig::load(&c, &k)
    }

    #[test]
    fn a_matching_pair_loads_with_alpn() {
        let (cert, key) = pair();
        let config = load_pems(&cert, &key).unwrap();
        assert_eq!(
            config.server_config().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = TlsConfig::load(Path::new("/nonexistent/cert.pem"), Path::new("k")).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }

    #[test]
    fn a_file_without_a_certificate_is_refused() {
        let (_, key) = pair();
        let err = load_pems("not pem at all\n", &key).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
    }

    #[test]
    fn a_broken_certificate_is_refused() {
        let (_, key) = pair();
        let broken = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        let err = load_pems(broken, &key).unwrap_err();
        assert!(matches!(err, TlsError::Certificate { .. }), "{err:?}");
    }

    #[test]
    fn a_key_file_without_a_key_is_refused() {
        let (cert, _) = pair();
        let err = load_pems(&cert, &cert).unwrap_err();
        assert!(matches!(err, TlsError::Key { .. }), "{err:?}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = pair();
        let (_, other_key) = pair();
        let err = load_pems(&cert, &other_key).unwrap_err();
        assert!(matches!(err, TlsError::Rejected(_)), "{err:?}");
    }
}
