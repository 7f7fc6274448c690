//! Heap allocations per request on the hottest reads, counted by a counting global allocator
//! in this test binary of its own. A regression guard that cannot be noisy: the count of a
//! request's allocations does not depend on the machine's load, where its time does (speed
//! itself is measured by `scripts/bench-fleet.sh`, never here).
//!
//! The client is a plain blocking socket writing prepared request bytes and reading into one
//! buffer, so it allocates nothing per request; the simulator runs with no simulation and a
//! frozen clock, so its other threads are idle. What is counted in the window is what the
//! simulator spends answering (allocations and reallocations, calloc included). The bounds
//! leave a few allocations of room above what this test counted when they were set: a fresh
//! O1 13, a remembered one 10, a C7 page of 20 rows 18, since the request pipeline became one
//! middleware (16, 13 and 22 before; with a journal still filling, where each entry grows new
//! buffers, 24, 21 and 30; before the allocation work 52, 39 and 271). A change that crosses
//! them should say why in its commit.

// The simulator is started and its cabinets listed with the `api` suite's helpers.
#[path = "api/helpers.rs"]
mod helpers;

use bajie_sim::config::Config;
use helpers::spawn_with;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counts every allocation and reallocation, then hands it to the system allocator.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counter is a relaxed atomic that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One keep-alive connection that sends prepared requests and reads each answer whole.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).expect("the simulator accepts");
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        Client { stream, buf: vec![0; 1 << 20] }
    }

    /// Send `request` and read the answer; returns its status and body.
    fn exchange(&mut self, request: &[u8]) -> (u16, &[u8]) {
        self.stream.write_all(request).unwrap();
        let mut have = 0;
        loop {
            let n = self.stream.read(&mut self.buf[have..]).unwrap();
            assert!(n > 0, "the connection closed");
            have += n;
            let Some(head_end) = self.buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = std::str::from_utf8(&self.buf[..head_end]).unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
                .map(|(_, v)| v.trim().parse().unwrap())
                .expect("answers carry a length");
            if have >= head_end + 4 + length {
                let status = head[9..12].parse().unwrap();
                return (status, &self.buf[head_end + 4..head_end + 4 + length]);
            }
        }
    }
}

/// A GET as the demo account, prepared before the counting starts.
fn get(path: &str) -> Vec<u8> {
    format!("GET /cdb-open-api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n\r\n")
        .into_bytes()
}

/// Allocations per request over `requests`, after `warm` of them were sent uncounted.
fn per_request(client: &mut Client, warm: &[Vec<u8>], requests: &[Vec<u8>]) -> f64 {
    for r in warm {
        assert_eq!(client.exchange(r).0, 200);
    }
    let before = ALLOCATIONS.load(Relaxed);
    for r in requests {
        let (status, body) = client.exchange(r);
        assert_eq!(status, 200);
        assert!(body.starts_with(br#"{"msg":"Successful operation","code":0"#));
    }
    (ALLOCATIONS.load(Relaxed) - before) as f64 / requests.len() as f64
}

#[tokio::test]
async fn the_hottest_reads_stay_within_their_allocations() {
    // A journal of 100 entries: full after the first requests, so what is counted is its
    // steady state (an entry's buffers reused from the one it evicts), as in a long load test.
    let config = Config { fleet: Some(2_000), request_journal: 100, ..Config::for_tests() };
    let app = spawn_with(config).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let online = app.online_cabinets().await;
    assert!(online.len() >= 600, "{} online demo cabinets", online.len());

    let counts = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&addr);
        let o1 = |id: &String| get(&format!("/rent/cabinet/query?deviceId={id}"));
        // Every cabinet asked once: each answer is read fresh from the world, none is
        // remembered yet (the per-worker memo).
        let fresh = per_request(
            &mut client,
            &online[..200].iter().map(o1).collect::<Vec<_>>(),
            &online[200..600].iter().map(o1).collect::<Vec<_>>(),
        );
        // The same cabinets again: the memo's answers.
        let again = per_request(&mut client, &[], &online[200..600].iter().map(o1).collect::<Vec<_>>());
        let page = get("/cabinet/getAllDevicePage?page=1&limit=20");
        let c7 = per_request(&mut client, &vec![page.clone(); 50], &vec![page; 200]);
        (fresh, again, c7)
    })
    .await
    .unwrap();
    let (fresh, again, c7) = counts;
    println!("allocations per request: O1 fresh {fresh:.1}, O1 remembered {again:.1}, C7 page of 20 {c7:.1}");
    assert!(fresh <= 16.0, "a fresh O1 made {fresh:.1} allocations (13 when this bound was set)");
    assert!(again <= fresh, "a remembered O1 made {again:.1} allocations, a fresh one {fresh:.1}");
    assert!(c7 <= 21.0, "a C7 page made {c7:.1} allocations (18 when this bound was set)");
    app.running.shutdown(std::time::Duration::from_secs(1)).await;
}
