//! Helpers of the server suites: an `isodb serve` process on an ephemeral
//! loopback port, and a raw protocol client for what drivers do not let a
//! test say (exact command tags, pipelines with one Sync, broken messages).

#![allow(dead_code)] // each suite uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `isodb serve`; stopped (SIGTERM, then waited for) when dropped.
pub struct TestServer {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Serves a temporary database with these extra flags.
    pub fn start(flags: &[&str]) -> TestServer {
        TestServer::start_in(None, flags)
    }

    /// Serves the database in a new temporary directory (kept after the
    /// server stops, for reopening).
    pub fn start_in_directory(flags: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        TestServer::start_in(Some(dir), flags)
    }

    fn start_in(dir: Option<tempfile::TempDir>, flags: &[&str]) -> TestServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_isodb"));
        command.arg("serve").args(["--listen", "127.0.0.1:0"]);
        match &dir {
            Some(dir) => command.arg(dir.path()),
            None => command.arg("--temp"),
        };
        command.args(flags);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start isodb serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its address");
        let addr = line
            .trim()
            .strip_prefix("isodb: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("an address");
        TestServer { child, addr, dir }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A connection string for the postgres crates.
    pub fn config(&self, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=test connect_timeout=10",
            self.port()
        )
    }

    /// A `postgres://` URL for the shell's `--connect`.
    pub fn url(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/test", self.port())
    }

    /// A blocking client.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.config("tester"), postgres::NoTls).expect("connect")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as i32;
        // SAFETY-free: kill(1) through the shell utility keeps this test free of libc.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        self.child.wait().expect("wait for the server")
    }

    /// How many connections the server serves now: its connection threads
    /// (Linux).
    pub fn connections(&self) -> usize {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.trim() == "isodb-conn")
            })
            .count()
    }

    /// The server's resident memory in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

/// One backend message.
#[derive(Debug, Clone)]
pub struct Message {
    pub tag: u8,
    pub body: Vec<u8>,
}

impl Message {
    /// An ErrorResponse's or NoticeResponse's field (`b'C'`: SQLSTATE, `b'M'`: message).
    pub fn field(&self, code: u8) -> Option<String> {
        let mut rest = self.body.as_slice();
        while let Some((&kind, tail)) = rest.split_first() {
            if kind == 0 {
                return None;
            }
            let end = tail.iter().position(|&b| b == 0)?;
            if kind == code {
                return Some(String::from_utf8_lossy(&tail[..end]).into_owned());
            }
            rest = &tail[end + 1..];
        }
        None
    }

    /// A CommandComplete's tag.
    pub fn command_tag(&self) -> String {
        String::from_utf8_lossy(self.body.strip_suffix(&[0]).unwrap_or(&self.body)).into_owned()
    }

    /// A DataRow's values (None for NULL).
    pub fn values(&self) -> Vec<Option<Vec<u8>>> {
        let count = u16::from_be_bytes([self.body[0], self.body[1]]) as usize;
        let mut at = 2;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            let len = i32::from_be_bytes(self.body[at..at + 4].try_into().expect("length"));
            at += 4;
            if len < 0 {
                values.push(None);
            } else {
                values.push(Some(self.body[at..at + len as usize].to_vec()));
                at += len as usize;
            }
        }
        values
    }

    /// A short name for assertions: `ParseComplete`, `Error 23505`, `Ready I`, ...
    pub fn summary(&self) -> String {
        match self.tag {
            b'1' => "ParseComplete".into(),
            b'2' => "BindComplete".into(),
            b'3' => "CloseComplete".into(),
            b'C' => format!("Complete {}", self.command_tag()),
            b'D' => "DataRow".into(),
            b'E' => format!("Error {}", self.field(b'C').unwrap_or_default()),
            b'I' => "EmptyQuery".into(),
            b'n' => "NoData".into(),
            b's' => "PortalSuspended".into(),
            b't' => "ParameterDescription".into(),
            b'T' => "RowDescription".into(),
            b'Z' => format!(
                "Ready {}",
                self.body.first().map(|&b| b as char).unwrap_or('?')
            ),
            b'S' => "ParameterStatus".into(),
            b'N' => "Notice".into(),
            other => format!("{}", other as char),
        }
    }
}

/// A raw protocol-3.0 client over TCP.
pub struct RawClient {
    pub stream: TcpStream,
    pub parameters: Vec<(String, String)>,
    /// The pid of BackendKeyData.
    pub backend_pid: Option<i32>,
}

fn cstring(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// A frontend message with its type byte and length.
pub fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A startup packet of protocol `major.minor`.
pub fn startup_packet(user: &str, major: u16, minor: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&major.to_be_bytes());
    body.extend_from_slice(&minor.to_be_bytes());
    for (k, v) in [("user", user), ("database", "test")] {
        cstring(&mut body, k);
        cstring(&mut body, v);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

impl RawClient {
    /// A TCP connection with nothing sent yet.
    pub fn connect_only(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        RawClient {
            stream,
            parameters: Vec::new(),
            backend_pid: None,
        }
    }

    /// Connected and started up as `user`, at ReadyForQuery.
    pub fn connect(addr: SocketAddr) -> RawClient {
        let mut client = RawClient::connect_only(addr);
        client.write(&startup_packet("tester", 3, 0));
        for message in client.until_ready() {
            if message.tag == b'K' && message.body.len() >= 4 {
                let pid = [
                    message.body[0],
                    message.body[1],
                    message.body[2],
                    message.body[3],
                ];
                client.backend_pid = Some(i32::from_be_bytes(pid));
            }
            if message.tag == b'S' {
                let parts: Vec<String> = message
                    .body
                    .split(|&b| b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                client.parameters.push((parts[0].clone(), parts[1].clone()));
            }
            assert_ne!(
                message.tag,
                b'E',
                "startup failed: {:?}",
                message.field(b'M')
            );
        }
        client
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next message; `None` when the server closed the connection.
    pub fn read(&mut self) -> Option<Message> {
        let mut header = [0u8; 5];
        self.stream.read_exact(&mut header).ok()?;
        let len = i32::from_be_bytes(header[1..5].try_into().ok()?) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        self.stream.read_exact(&mut body).ok()?;
        Some(Message {
            tag: header[0],
            body,
        })
    }

    /// Messages up to and including ReadyForQuery.
    pub fn until_ready(&mut self) -> Vec<Message> {
        let mut messages = Vec::new();
        while let Some(message) = self.read() {
            let ready = message.tag == b'Z';
            messages.push(message);
            if ready {
                break;
            }
        }
        messages
    }

    /// Summaries up to ReadyForQuery, ParameterStatus left out.
    pub fn summaries(&mut self) -> Vec<String> {
        self.until_ready()
            .iter()
            .filter(|m| m.tag != b'S')
            .map(Message::summary)
            .collect()
    }

    pub fn query(&mut self, sql: &str) {
        let mut body = Vec::new();
        cstring(&mut body, sql);
        self.write(&frame(b'Q', &body));
    }

    pub fn parse(&mut self, name: &str, sql: &str, oids: &[u32]) {
        let mut body = Vec::new();
        cstring(&mut body, name);
        cstring(&mut body, sql);
        body.extend_from_slice(&(oids.len() as u16).to_be_bytes());
        for oid in oids {
            body.extend_from_slice(&oid.to_be_bytes());
        }
        self.write(&frame(b'P', &body));
    }

    pub fn bind(
        &mut self,
        portal: &str,
        statement: &str,
        formats: &[i16],
        params: &[Option<&[u8]>],
        results: &[i16],
    ) {
        let mut body = Vec::new();
        cstring(&mut body, portal);
        cstring(&mut body, statement);
        body.extend_from_slice(&(formats.len() as u16).to_be_bytes());
        for f in formats {
            body.extend_from_slice(&f.to_be_bytes());
        }
        body.extend_from_slice(&(params.len() as u16).to_be_bytes());
        for p in params {
            match p {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    body.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    body.extend_from_slice(bytes);
                }
            }
        }
        body.extend_from_slice(&(results.len() as u16).to_be_bytes());
        for f in results {
            body.extend_from_slice(&f.to_be_bytes());
        }
        self.write(&frame(b'B', &body));
    }

    pub fn describe(&mut self, kind: u8, name: &str) {
        let mut body = vec![kind];
        cstring(&mut body, name);
        self.write(&frame(b'D', &body));
    }

    pub fn execute(&mut self, portal: &str, max_rows: i32) {
        let mut body = Vec::new();
        cstring(&mut body, portal);
        body.extend_from_slice(&max_rows.to_be_bytes());
        self.write(&frame(b'E', &body));
    }

    pub fn sync(&mut self) {
        self.write(&frame(b'S', &[]));
    }

    /// Runs a simple query and returns the first column of its rows as text.
    pub fn column(&mut self, sql: &str) -> Vec<Option<String>> {
        self.query(sql);
        self.until_ready()
            .iter()
            .filter(|m| m.tag == b'D')
            .map(|m| {
                m.values()[0]
                    .clone()
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
            })
            .collect()
    }
}
