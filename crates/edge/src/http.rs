//! Fetching bytes with a hard limit on how many are read.

use crate::{Error, Result};
use std::path::Path;

/// Largest error body read for a message; the rest is never read.
const MAX_ERROR_BODY: usize = 1024;

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a read may wait for the next bytes of a reply: a server that stops
/// sending mid-reply cannot hold a client forever.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Told how a long download advances (the CLI draws a progress bar from it).
pub trait Progress: Send + Sync {
    /// A download of `what` starts; `total` bytes when known.
    fn start(&self, what: &str, total: Option<u64>);
    /// `n` more bytes arrived.
    fn advance(&self, n: u64);
    /// The download ended (done or failed).
    fn finish(&self);
}

/// An HTTP client that never reads more than the caller allows. `file://` URLs
/// read local files, so a target directory can stand in for a target server.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    /// A client with tuflog's user agent, [`CONNECT_TIMEOUT`] and [`READ_TIMEOUT`].
    pub fn new() -> Self {
        Self::with_timeouts(CONNECT_TIMEOUT, READ_TIMEOUT)
    }

    /// A client with tuflog's user agent and these timeouts.
    pub fn with_timeouts(connect: std::time::Duration, read: std::time::Duration) -> Self {
        let client = Self::builder(connect, read).build().unwrap_or_default();
        Http { client }
    }

    /// [`Http::new`] that also trusts, for `https://` servers, the CA certificates
    /// in the PEM file `ca_file` (a private CA), besides the Mozilla roots.
    pub fn trusting(ca_file: &std::path::Path) -> Result<Self> {
        Self::trusting_with_timeouts(ca_file, CONNECT_TIMEOUT, READ_TIMEOUT)
    }

    /// [`Http::trusting`] with these timeouts.
    pub fn trusting_with_timeouts(
        ca_file: &std::path::Path,
        connect: std::time::Duration,
        read: std::time::Duration,
    ) -> Result<Self> {
        let unusable = |why: String| Error::io(ca_file, std::io::Error::other(why));
        let pem = crate::pem::read(ca_file)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| unusable(format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(unusable("no certificate in it".into()));
        }
        let builder = certs.into_iter().fold(
            Self::builder(connect, read),
            reqwest::ClientBuilder::add_root_certificate,
        );
        let client = builder
            .build()
            .map_err(|e| unusable(format!("an HTTP client with these roots: {e}")))?;
        Ok(Http { client })
    }

    fn builder(connect: std::time::Duration, read: std::time::Duration) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .user_agent(concat!("tuflog/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect)
            .read_timeout(read)
    }

    /// The underlying client, for requests other than bounded GETs.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url`, reading at most `max_bytes`. `None` for 404. Reading stops as
    /// soon as the limit is passed (an endless-data attack costs the limit, no more).
    pub async fn get(&self, url: &str, max_bytes: u64) -> Result<Option<Vec<u8>>> {
        self.get_with_progress(url, max_bytes, None).await
    }

    /// [`Http::get`], reporting progress to `progress`.
    pub async fn get_with_progress(
        &self,
        url: &str,
        max_bytes: u64,
        progress: Option<&dyn Progress>,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(p) = progress {
            p.start(url, Some(max_bytes));
        }
        let result = self.fetch(url, max_bytes, progress).await;
        if let Some(p) = progress {
            p.finish();
        }
        result
    }

    async fn fetch(
        &self,
        url: &str,
        max_bytes: u64,
        progress: Option<&dyn Progress>,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(path) = url.strip_prefix("file://") {
            return read_file(Path::new(path), url, max_bytes);
        }
        let mut resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| transport(url, &e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(http_error(url, resp).await);
        }
        read_bounded(url, &mut resp, max_bytes, progress)
            .await
            .map(Some)
    }

    /// POSTs `body` as text to `url` and reads at most `max_bytes` of a success
    /// reply; any other status is an error.
    pub async fn post_text(&self, url: &str, body: String, max_bytes: u64) -> Result<Vec<u8>> {
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        self.send_bounded(url, request, max_bytes).await
    }
}

impl Http {
    /// POSTs `form` to `url` with `token` as the bearer credential, and reads at
    /// most `max_bytes` of a success reply; any other status is an error.
    pub async fn post_multipart(
        &self,
        url: &str,
        token: &str,
        form: reqwest::multipart::Form,
        max_bytes: u64,
    ) -> Result<Vec<u8>> {
        let request = self.client.post(url).bearer_auth(token).multipart(form);
        self.send_bounded(url, request, max_bytes).await
    }

    /// Sends `request`, and reads at most `max_bytes` of a success reply.
    async fn send_bounded(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
        max_bytes: u64,
    ) -> Result<Vec<u8>> {
        let mut resp = request.send().await.map_err(|e| transport(url, &e))?;
        if !resp.status().is_success() {
            return Err(http_error(url, resp).await);
        }
        read_bounded(url, &mut resp, max_bytes, None).await
    }
}

/// Reads a reply's body, stopping as soon as it passes `max_bytes`.
async fn read_bounded(
    url: &str,
    resp: &mut reqwest::Response,
    max_bytes: u64,
    progress: Option<&dyn Progress>,
) -> Result<Vec<u8>> {
    let too_large = || Error::TooLarge {
        url: url.into(),
        limit: max_bytes,
    };
    if resp.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    // Sized once from the declared length, already within the limit: a 100 kB reply
    // read into a growing buffer was copied five times over (8, 16, 32, 64 kB).
    let declared = resp.content_length().and_then(|n| usize::try_from(n).ok());
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, &e))? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
        if let Some(p) = progress {
            p.advance(chunk.len() as u64);
        }
    }
    Ok(body)
}

/// The error for a non-success reply, with the server's JSON `error` message when
/// it sent one.
async fn http_error(url: &str, mut resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    // At most MAX_ERROR_BODY bytes are read: an error body is the server's to
    // make endless.
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let body = body.as_slice();
    // tuflog's errors are {"error":{"code":…,"message":…}}; anything else is shown
    // as text.
    let message = wire::replies::ErrorReply::from_json(body)
        .map(|reply| match reply.error.code.as_str() {
            "" => reply.error.message,
            code => format!("{} ({code})", reply.error.message),
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    Error::Http {
        url: url.into(),
        status,
        message,
    }
}

fn read_file(path: &Path, url: &str, max_bytes: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut body = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| Error::io(path, e))?;
    if body.len() as u64 > max_bytes {
        return Err(Error::TooLarge {
            url: url.into(),
            limit: max_bytes,
        });
    }
    Ok(Some(body))
}

/// A request that got no answer, with every cause reqwest wraps: its own message
/// alone ("error sending request") hides whether the server's certificate was
/// refused, the connection refused, or the name not found.
fn transport(url: &str, e: &reqwest::Error) -> Error {
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    Error::Transport {
        url: url.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client speaks HTTPS (rustls, Mozilla's roots built in): an https URL
    /// fails at the connection, not as an unsupported scheme.
    #[tokio::test]
    async fn https_urls_are_supported() {
        let err = Http::new()
            .get("https://127.0.0.1:9/metadata/timestamp.json", 1024)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Transport { .. }), "{text}");
        assert!(!text.to_lowercase().contains("scheme"), "{text}");
    }

    /// A loopback server that answers every connection with `head`, then writes
    /// `chunk` as HTTP chunks until the client goes away (`None`: sends nothing
    /// more and holds the connection open).
    async fn raw_server(head: &'static str, chunk: Option<&'static [u8]>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = conn.read(&mut request).await;
                    if conn.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    match chunk {
                        Some(c) => {
                            let framed =
                                [format!("{:x}\r\n", c.len()).as_bytes(), c, b"\r\n"].concat();
                            while conn.write_all(&framed).await.is_ok() {}
                        }
                        None => tokio::time::sleep(std::time::Duration::from_secs(60)).await,
                    }
                });
            }
        });
        format!("http://{addr}/timestamp.json")
    }

    /// Regression: an error reply's body was read whole before it was cut to
    /// its first kilobyte, so a server streaming an endless error body held the
    /// client (and its memory) forever.
    #[tokio::test]
    async fn an_endless_error_body_is_read_only_to_its_limit() {
        let url = raw_server(
            "HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n",
            Some(&[b'x'; 4096]),
        )
        .await;
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            Http::new().get(&url, 1024),
        )
        .await
        .expect("the client stops reading the error body");
        match answered {
            Err(Error::Http {
                status: 500,
                message,
                ..
            }) => assert_eq!(message.len(), MAX_ERROR_BODY),
            other => panic!("{other:?}"),
        }
    }

    /// A server that sends its headers and then nothing is given up on after the
    /// read timeout, not waited on forever.
    /// Regression: the reply to a push was read whole and only then compared
    /// with its limit, so a server could make a publisher hold any amount.
    #[tokio::test]
    async fn regression_an_endless_push_reply_is_read_only_to_its_limit() {
        let url = raw_server(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            Some(&[b'x'; 4096]),
        )
        .await;
        let form = reqwest::multipart::Form::new().text("root.json", "{}");
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            Http::new().post_multipart(&url, "token", form, 64 * 1024),
        )
        .await
        .expect("the client stops reading the reply");
        assert!(
            matches!(answered, Err(Error::TooLarge { limit: 65536, .. })),
            "{answered:?}"
        );
    }

    #[tokio::test]
    async fn a_server_that_stalls_mid_reply_times_out() {
        let url = raw_server(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            None,
        )
        .await;
        let http = Http::with_timeouts(CONNECT_TIMEOUT, std::time::Duration::from_millis(300));
        let answered =
            tokio::time::timeout(std::time::Duration::from_secs(20), http.get(&url, 1024))
                .await
                .expect("the read timeout ends the request");
        assert!(
            matches!(answered, Err(Error::Transport { .. })),
            "{answered:?}"
        );
    }

    #[tokio::test]
    async fn a_local_file_longer_than_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        let url = format!("file://{}", path.display());
        assert!(matches!(
            Http::new().get(&url, 99).await,
            Err(Error::TooLarge { limit: 99, .. })
        ));
        assert_eq!(
            Http::new().get(&url, 100).await.unwrap().unwrap().len(),
            100
        );
        assert!(Http::new()
            .get(&format!("{url}-missing"), 1)
            .await
            .unwrap()
            .is_none());
    }
}
