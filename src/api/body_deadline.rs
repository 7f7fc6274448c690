//! The request-body deadline: a body that stops arriving is answered HTTP 408 in the envelope
//! and its connection closed.
//!
//! actix-web bounds the wait for a request head (its client request timeout) but not for the
//! body: a client that sends `Content-Length: 100` and then nothing kept a worker's handler
//! waiting, and its connection and file descriptor, forever; a thousand of them locked every
//! client out. This step wraps the body of every request that declares one in a stream
//! that fails when no byte arrives for `--body-timeout-ms`, counted from the handler's first
//! read and again after every piece that arrives (nginx's `client_body_timeout` works the same
//! way: a gap between two reads, not the whole transfer, so a large snapshot upload on a slow
//! link is not cut off while it makes progress). Whatever the handler made of the failed read,
//! the answer becomes the 408 and `Connection: close`, since the rest of that body may still
//! be on its way and nothing else can be read from the connection.

use super::layer::Answer;
use crate::error::Error;
use crate::state::AppState;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use futures_core::Stream;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// What actix-web keeps a request body in once it is wrapped.
type BoxedStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// The pipeline's first step (`api::layer`), outside the request journal: the journal reads a
/// platform body before any handler does, so the body must already be watched then.
pub async fn deadline(mut req: ServiceRequest, next: impl AsyncFnOnce(ServiceRequest) -> Answer) -> Answer {
    let timeout = req.app_data::<web::Data<AppState>>().map(|s| s.config.body_timeout_ms);
    let Some(timeout) = timeout.filter(|_| declares_body(&req)).map(Duration::from_millis) else {
        return next(req).await;
    };
    let expired = Rc::new(Cell::new(false));
    let inner = req.take_payload();
    let watched = Watched { inner, timeout, sleep: None, expired: expired.clone(), done: false };
    req.set_payload(Payload::from(Box::pin(watched) as BoxedStream));
    let res = next(req).await?;
    if !expired.get() {
        return Ok(res);
    }
    let (req, _) = res.into_parts();
    let mut answer = Error::body_timeout(timeout.as_millis() as u64).error_response();
    answer.head_mut().set_connection_type(ConnectionType::Close);
    Ok(ServiceResponse::new(req, answer).map_into_boxed_body())
}

/// Whether the request says a body follows: a non-zero `Content-Length` or a chunked one.
fn declares_body(req: &ServiceRequest) -> bool {
    let h = req.headers();
    let length = h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || h.contains_key(header::TRANSFER_ENCODING)
}

/// A request body that fails with a time-out when it stalls for `timeout`.
struct Watched {
    inner: Payload,
    timeout: Duration,
    /// Armed at the first read, re-armed by every piece that arrives.
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // What has arrived is read first: a handler that starts late (a latency fault rule)
        // finds the body buffered and is not cut off.
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if let Some(s) = this.sleep.as_mut() {
                    s.as_mut().reset(Instant::now() + this.timeout);
                }
                return Poll::Ready(Some(Ok(bytes)));
            }
            Poll::Ready(other) => {
                this.done = true;
                return Poll::Ready(other);
            }
            Poll::Pending => {}
        }
        let timeout = this.timeout;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.done = true;
                this.expired.set(true);
                let why = format!("no part of the request body arrived for {} ms", timeout.as_millis());
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, why)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
