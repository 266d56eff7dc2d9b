//! A fake Docker engine on 127.0.0.1 for tests of engines that stop
//! answering: plain HTTP, it answers `GET /version`, `GET /_ping` unless
//! told otherwise and an image inspect if told to, and never answers
//! anything else, holding the connection open. The request lines it got
//! are kept, in order.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub struct FakeEngine {
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeEngine {
    /// Listens on a free port; answers pings only when `answers_pings`.
    pub fn start(answers_pings: bool) -> FakeEngine {
        Self::start_with(answers_pings, false)
    }

    /// [`start`](Self::start); with `has_images`, it also says it has every image asked for.
    pub fn start_with(answers_pings: bool, has_images: bool) -> FakeEngine {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, answers_pings, has_images, &seen));
            }
        });
        FakeEngine { port, requests }
    }

    pub fn endpoint(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Forgets the requests so far.
    pub fn forget(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Whether a request line containing `path` has come.
    pub fn got(&self, path: &str) -> bool {
        self.requests.lock().unwrap().iter().any(|line| line.contains(path))
    }
}

fn serve(mut stream: TcpStream, answers_pings: bool, has_images: bool, seen: &Mutex<Vec<String>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            let line = head.lines().next().unwrap_or_default().to_string();
            seen.lock().unwrap().push(line.clone());
            let body = if line.contains("/version") {
                r#"{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}"#
            } else if line.contains("/_ping") && answers_pings {
                "OK"
            } else if line.starts_with("GET") && line.contains("/images/") && line.contains("/json") && has_images {
                r#"{"Id":"sha256:0000000000000000000000000000000000000000000000000000000000000001","Config":{}}"#
            } else {
                // Silent from here on; the connection stays open.
                loop {
                    std::thread::park();
                }
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    }
}
