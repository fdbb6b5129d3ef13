//! Raw HTTP/1.1 over loopback, for tests that must see how much of a body
//! the server reads and when it answers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A raw HTTP/1.1 client: sends `head`, then streams `chunks` chunk-encoded
/// from a second thread until done or the server stops reading, while this
/// thread waits for the response. Returns the response text, the time it
/// took, and the bytes the client managed to send (an upper bound of what
/// the server read: the rest sits in socket buffers or was refused).
pub fn race(base: &str, head: &str, chunks: impl Iterator<Item = Vec<u8>> + Send + 'static) -> (String, Duration, u64) {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let mut writer = stream.try_clone().unwrap();
    let counter = sent.clone();
    std::thread::spawn(move || {
        for chunk in chunks {
            let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk, b"\r\n".to_vec()].concat();
            if writer.write_all(&framed).is_err() {
                return;
            }
            counter.fetch_add(framed.len() as u64, Ordering::SeqCst);
        }
        let _ = writer.write_all(b"0\r\n\r\n");
    });
    let started = Instant::now();
    let mut reader = BufReader::new(stream);
    let mut response = String::new();
    let mut content_length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap();
        }
        response.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).unwrap();
    let elapsed = started.elapsed();
    response.push_str(&String::from_utf8_lossy(&body));
    (response, elapsed, sent.load(Ordering::SeqCst))
}

/// Multipart text fields of `size` bytes each, `count` of them, as 1 MB chunks.
pub fn big_text_fields(boundary: &'static str, count: usize, size: usize) -> impl Iterator<Item = Vec<u8>> + Send {
    (0..count).flat_map(move |i| {
        let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n").into_bytes();
        let body = (0..size / (1 << 20)).map(|_| vec![b'a'; 1 << 20]);
        std::iter::once(head).chain(body).chain(std::iter::once(b"\r\n".to_vec()))
    })
}
