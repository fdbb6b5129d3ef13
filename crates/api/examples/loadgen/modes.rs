//! The three runs: overload (open-loop arrivals at a multiple of the pool's
//! throughput), soak (a fixed number of mixed requests, RSS after warm-up
//! and at the end) and crash (`kill -9` under load, restart, check).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::requests::{Inputs, Kind, Outcome, SOAK_MIX};
use super::server::{files_ending, load_average, RssSampler, ServerSpec};
use super::stats::{ms, percentile, summary, Tally};

/// Options shared by the runs.
pub struct Options {
    /// Seconds of load (overload, crash).
    pub seconds: u64,
    /// Arrival rate as a multiple of the pool's throughput (overload).
    pub factor: f64,
    /// Requests in all (soak).
    pub requests: usize,
    /// Requests of the soak's warm-up, before the first RSS reading.
    pub warmup: usize,
    /// Clients in a closed loop (soak, crash).
    pub clients: usize,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(180)).build().unwrap_or_default()
}

/// The overload run's request: a text line, every eighth a small receipt.
fn overload_kind(n: usize) -> Kind {
    if n % 8 == 7 {
        Kind::Receipt
    } else {
        Kind::Line
    }
}

/// The `/metrics` value `name` (0 when absent).
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(resp) => resp.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).unwrap_or(0)
}

/// Builds the model plans of every image size the run sends.
async fn warm_up(client: &reqwest::Client, base: &str, inputs: &Inputs) {
    for n in 0..16 {
        let _ = inputs.send(client, base, overload_kind(n), n).await;
    }
}

/// Overload: the unloaded latency (one request at a time), then arrivals
/// at `factor` times the pool's throughput for `seconds`, with RSS sampled
/// every 5 s; prints refusal and admitted latencies.
pub async fn overload(spec: &ServerSpec, inputs: Arc<Inputs>, options: &Options) -> Result<(), String> {
    let server = spec.start()?;
    let base = server.base.clone();
    let client = client();
    println!("overload: {} workers + {} queued; load average before: {}", spec.workers, spec.queue, load_average());
    warm_up(&client, &base, &inputs).await;
    let mut unloaded = Vec::new();
    for n in 0..48 {
        let o = inputs.send(&client, &base, overload_kind(n), n).await;
        if !o.is_ocr_success() {
            return Err(format!("unloaded request failed: {} {}", o.status, o.message));
        }
        unloaded.push(o.latency);
    }
    let mean = unloaded.iter().sum::<Duration>() / unloaded.len() as u32;
    let throughput = spec.workers as f64 / mean.as_secs_f64();
    let rate = options.factor * throughput;
    println!(
        "unloaded (one at a time): {}; mean {} -> pool throughput {throughput:.1}/s; sending {rate:.1}/s for {} s",
        summary(&unloaded),
        ms(mean),
        options.seconds
    );
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let cap = 16 * (spec.workers + spec.queue);
    let mut skipped = 0;
    let mut rss = RssSampler::start();
    rss.sample(server.pid());
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = Duration::from_secs(5);
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(options.seconds) {
        ticker.tick().await;
        if started.elapsed() >= next_sample {
            rss.sample(server.pid());
            next_sample += Duration::from_secs(5);
        }
        if in_flight.load(Ordering::SeqCst) >= cap {
            skipped += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::SeqCst);
        let (client, base, inputs, outcomes, in_flight) =
            (client.clone(), base.clone(), inputs.clone(), outcomes.clone(), in_flight.clone());
        tokio::spawn(async move {
            let o = inputs.send(&client, &base, overload_kind(n), n).await;
            outcomes.lock().unwrap_or_else(|e| e.into_inner()).push(o);
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
        n += 1;
    }
    let sending = started.elapsed();
    while in_flight.load(Ordering::SeqCst) > 0 && started.elapsed() < sending + Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rss.sample(server.pid());
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));
    let refused: Vec<Duration> = outcomes.iter().filter(|o| o.is_busy()).map(|o| o.latency).collect();
    let admitted: Vec<Duration> = outcomes.iter().filter(|o| o.is_ocr_success()).map(|o| o.latency).collect();
    let other = outcomes.len() - refused.len() - admitted.len();
    let (before_body, after_body) = (
        metric(&client, &base, "ocr_refused_before_body_total ").await,
        metric(&client, &base, "ocr_refused_after_body_total ").await,
    );
    let unloaded_p99 = percentile(&unloaded, 0.99);
    let admitted_p99 = percentile(&admitted, 0.99);
    println!(
        "sent {n} in {:.1} s ({skipped} not sent: {cap} already in flight); load average after: {}",
        sending.as_secs_f64(),
        load_average()
    );
    println!("refused (503): {}", summary(&refused));
    println!("  refused before the body was read: {before_body}, after: {after_body}");
    println!("admitted (200): {}", summary(&admitted));
    println!(
        "admitted p99 / unloaded p99 = {} / {} = {:.2}",
        ms(admitted_p99),
        ms(unloaded_p99),
        admitted_p99.as_secs_f64() / unloaded_p99.as_secs_f64().max(1e-9)
    );
    println!("other answers: {other}");
    for o in outcomes.iter().filter(|o| !o.is_busy() && !o.is_ocr_success()).take(5) {
        println!("  {} {:?} {}", o.status, o.exit_code, o.message);
    }
    println!("RSS (VmRSS) over time: {}", rss.describe());
    let check = inputs.send(&client, &base, Kind::Line, 0).await;
    println!("a request after the load: HTTP {} exit {:?} in {}", check.status, check.exit_code, ms(check.latency));
    Ok(())
}

/// The soak's `n`-th request: kinds in the proportions of [`SOAK_MIX`],
/// in a fixed pseudo-random order.
fn soak_kind(n: usize) -> Kind {
    let total: u32 = SOAK_MIX.iter().map(|(_, w)| w).sum();
    let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66D;
    x ^= x >> 29;
    let mut pick = (x % u64::from(total)) as u32;
    for (kind, weight) in SOAK_MIX {
        if pick < weight {
            return kind;
        }
        pick -= weight;
    }
    Kind::Line
}

/// Soak: `requests` mixed requests from `clients` clients in a closed loop;
/// RSS after the warm-up, every 1,000 requests and at the end.
pub async fn soak(spec: &ServerSpec, inputs: Arc<Inputs>, options: &Options) -> Result<(), String> {
    let server = spec.start()?;
    let base = server.base.clone();
    let client = client();
    println!(
        "soak: {} requests from {} clients, {} workers + {} queued; load average before: {}",
        options.requests,
        options.clients,
        spec.workers,
        spec.queue,
        load_average()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.clients {
        let (client, base, inputs, next, done, tally) =
            (client.clone(), base.clone(), inputs.clone(), next.clone(), done.clone(), tally.clone());
        let total = options.requests;
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= total {
                    break;
                }
                let o = inputs.send(&client, &base, soak_kind(n), n).await;
                tally.lock().unwrap_or_else(|e| e.into_inner()).add(&o);
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let mut rss = RssSampler::start();
    let mut after_warmup = None;
    let mut next_mark = 1000;
    let mut peak = 0;
    while done.load(Ordering::SeqCst) < options.requests {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let completed = done.load(Ordering::SeqCst);
        peak = peak.max(server.rss_kb());
        if after_warmup.is_none() && completed >= options.warmup {
            after_warmup = Some(server.rss_kb());
        }
        if completed >= next_mark {
            rss.sample(server.pid());
            println!(
                "  {completed} done after {:.0} s, RSS {} MB",
                started.elapsed().as_secs_f64(),
                server.rss_kb() / 1024
            );
            next_mark += 1000;
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end = server.rss_kb();
    let warm = after_warmup.unwrap_or(end);
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    println!("{} requests in {:.0} s; load average after: {}", options.requests, elapsed.as_secs_f64(), load_average());
    println!("answers:\n{}", tally.describe());
    println!("unexpected answers (no answer, 5xx other than 503, hostile input read as text): {}", tally.unexpected());
    println!(
        "RSS after warm-up ({} requests): {} MB; at the end: {} MB; growth {:+.1}%; peak {} MB",
        options.warmup,
        warm / 1024,
        end / 1024,
        (end as f64 - warm as f64) * 100.0 / warm as f64,
        peak / 1024
    );
    let cpu = server.cpu_time();
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("CPU used in 1 s of idle after the soak: {:?}", server.cpu_time() - cpu);
    let check = inputs.send(&client, &base, Kind::Line, 0).await;
    println!("a request after the soak: HTTP {} exit {:?} in {}", check.status, check.exit_code, ms(check.latency));
    Ok(())
}

/// Crash: links issued first, then `clients` clients asking for OCR with a
/// searchable PDF for `seconds`, `kill -9`, a restart on the same database
/// and PDF directory, and the checks.
pub async fn crash(spec: &ServerSpec, inputs: Arc<Inputs>, options: &Options) -> Result<(), String> {
    let mut first = spec.start()?;
    let client = client();
    let mut links = Vec::new();
    for n in 0..5 {
        let o = inputs.send(&client, &first.base, Kind::LineWithPdf, n).await;
        links.push(o.pdf_link.ok_or(format!("no PDF link: {} {}", o.status, o.message))?);
    }
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..options.clients {
        let (client, base, inputs, outcomes, stop) =
            (client.clone(), first.base.clone(), inputs.clone(), outcomes.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = c;
            while !stop.load(Ordering::SeqCst) {
                let o = inputs.send(&client, &base, Kind::LineWithPdf, n).await;
                outcomes.lock().unwrap_or_else(|e| e.into_inner()).push(o);
                n += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    first.kill_9();
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }
    let partial_after_kill = files_ending(&spec.pdf_dir(), ".partial").len();
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));
    let served = outcomes.iter().filter(|o| o.is_ocr_success()).count() + links.len();
    let cut_off = outcomes.iter().filter(|o| o.status == 0).count();
    let other = outcomes.len() + links.len() - served - cut_off;
    let second = spec.start()?;
    let (requests, pages, reserved, records) = counters(spec).await?;
    let files = files_ending(&spec.pdf_dir(), ".pdf");
    let orphans = files
        .iter()
        .filter(|f| !records.iter().any(|id| f.file_stem().is_some_and(|s| s.to_string_lossy() == *id)))
        .count();
    let partial_after_restart = files_ending(&spec.pdf_dir(), ".partial").len();
    let mut downloaded = 0;
    for link in &links {
        let url = link.replace(&first.base, &second.base);
        if let Ok(resp) = client.get(&url).send().await {
            if resp.status() == 200 && resp.bytes().await.is_ok_and(|b| b.starts_with(b"%PDF-")) {
                downloaded += 1;
            }
        }
    }
    println!(
        "crash: {} clients for {} s, then kill -9; load average: {}",
        options.clients,
        options.seconds,
        load_average()
    );
    println!("  answered 200 with text before the kill: {served} (5 of them before the load); cut off in flight: {cut_off}; other answers: {other}");
    println!(
        "  usage after restart: {requests} requests and {pages} pages (counted with the answer); {reserved} \
         reservations of requests cut off (quota held until they expire)"
    );
    println!("  requests - answered = {}, pages - answered = {}", requests - served as i64, pages - served as i64);
    println!(
        "  PDF files: {} stored, {} link records, {orphans} files without a record; partial files: \
         {partial_after_kill} right after the kill, {partial_after_restart} after the restart",
        files.len(),
        records.len()
    );
    println!("  links issued before the crash that still download: {downloaded} of {}", links.len());
    drop(second);
    Ok(())
}

/// Requests, pages and reservations in the usage table, and the ids of PDF link records.
async fn counters(spec: &ServerSpec) -> Result<(i64, i64, i64, Vec<String>), String> {
    let store = ocr_api::store::Store::connect(&spec.database_url(), 1).await.map_err(|e| e.to_string())?;
    let rows = store.usage(None).await.map_err(|e| e.to_string())?;
    let db = sqlx::SqlitePool::connect(&spec.database_url()).await.map_err(|e| e.to_string())?;
    let records: Vec<String> =
        sqlx::query_scalar("SELECT id FROM pdf_links").fetch_all(&db).await.map_err(|e| e.to_string())?;
    let sum = |field: fn(&ocr_api::store::UsageRow) -> i64| rows.iter().map(field).sum();
    Ok((sum(|r| r.requests), sum(|r| r.pages), sum(|r| r.reserved), records))
}
