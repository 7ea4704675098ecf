//! One SSE client: its bounded frame queue, its auth and topics, and the
//! response stream that drains the queue until the client falls behind,
//! goes idle, outlives its maximum lifetime, or the server shuts down.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream::BoxStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Broker, RealtimeError, topic::Subscription};
use crate::identity::{Caller, KeyGrant};

/// One event in PocketBase's framing: the client id as the event id (the
/// SDK reads its id from `PB_CONNECT`'s), the topic key as the event name.
pub fn frame(client_id: &str, event: &str, data: &str) -> Bytes {
    Bytes::from(format!("id:{client_id}\nevent:{event}\ndata:{data}\n\n"))
}

/// What a client is subscribed to, and as whom.
#[derive(Clone)]
pub struct Interest {
    pub caller: Caller,
    pub subscriptions: Arc<Vec<Arc<Subscription>>>,
}

/// What became of a frame sent to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Queued,
    /// Its queue was full: it is cut off.
    FellBehind,
    /// Its stream had already ended.
    Gone,
}

pub struct Client {
    pub id: String,
    frames: mpsc::Sender<Bytes>,
    /// Cancelled to cut the client off (it fell behind).
    closed: CancellationToken,
    interest: Mutex<Interest>,
    /// The API key the client listens with, and the token that stops
    /// watching it (`watch_key`).
    key_watch: Mutex<Option<(Arc<KeyGrant>, CancellationToken)>>,
}

impl Client {
    pub(super) fn new(id: String, queue: usize) -> (Arc<Self>, mpsc::Receiver<Bytes>) {
        let (frames, rx) = mpsc::channel(queue.max(1));
        let client = Arc::new(Self {
            id,
            frames,
            closed: CancellationToken::new(),
            interest: Mutex::new(Interest {
                caller: Caller::Guest,
                subscriptions: Arc::default(),
            }),
            key_watch: Mutex::default(),
        });
        (client, rx)
    }

    /// Queues a frame without waiting. A full queue means the client is
    /// too far behind: it is disconnected rather than slowing anyone.
    pub fn send(&self, frame: Bytes) -> Sent {
        match self.frames.try_send(frame) {
            Ok(()) => Sent::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!(client = %self.id, "realtime client fell behind; disconnecting");
                self.closed.cancel();
                Sent::FellBehind
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Sent::Gone,
        }
    }

    /// Cuts the client off: its stream ends.
    pub fn close(&self) {
        self.closed.cancel();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled() || self.frames.is_closed()
    }

    pub fn interest(&self) -> Option<Interest> {
        self.interest.lock().ok().map(|i| i.clone())
    }

    /// The key of the subscription to `topic` (options aside), if any.
    pub fn subscription_key(&self, topic: &str) -> Option<String> {
        let interest = self.interest()?;
        interest
            .subscriptions
            .iter()
            .find(|s| s.topic == topic)
            .map(|s| s.key.clone())
    }

    pub(super) fn resubscribe(
        &self,
        caller: Caller,
        subscriptions: Vec<Subscription>,
    ) -> Result<Arc<Vec<Arc<Subscription>>>, RealtimeError> {
        let mut interest = self.interest.lock().map_err(|_| RealtimeError::Gone)?;
        if let Caller::Record(before, _) = &interest.caller {
            let same = matches!(&caller, Caller::Record(now, _)
                if now.collection.id == before.collection.id && now.id == before.id);
            if !same {
                return Err(RealtimeError::AuthMismatch);
            }
        }
        let mut seen = std::collections::HashSet::new();
        let subscriptions = subscriptions
            .into_iter()
            .filter(|s| seen.insert(s.key.clone()))
            .map(Arc::new)
            .collect();
        let previous = std::mem::replace(
            &mut *interest,
            Interest {
                caller,
                subscriptions: Arc::new(subscriptions),
            },
        );
        Ok(previous.subscriptions)
    }

    /// Ends the client's stream when the API key it listens with (if
    /// any) is changed or revoked: the key no longer speaks for it, and a
    /// stream that stays open but silent would leave the client waiting
    /// (the SDK reconnects and subscribes again with what the key is now,
    /// or hears its 401). One watch per client, replaced when it
    /// subscribes with another key.
    pub(super) fn watch_key(&self, grant: Option<&Arc<KeyGrant>>) {
        let Ok(mut watch) = self.key_watch.lock() else {
            return;
        };
        if let (Some((watched, _)), Some(grant)) = (watch.as_ref(), grant)
            && Arc::ptr_eq(watched, grant)
        {
            return;
        }
        if let Some((_, stop)) = watch.take() {
            stop.cancel();
        }
        let Some(grant) = grant else {
            return;
        };
        let (retired, closed, stop) = (grant.retirement(), self.closed.clone(), CancellationToken::new());
        let stopped = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = retired.cancelled() => closed.cancel(),
                _ = closed.cancelled() => {}
                _ = stopped.cancelled() => {}
            }
        });
        *watch = Some((grant.clone(), stop));
    }

    /// Replaces the signed-in record (after it changed), or signs the
    /// client out (`None`: the record is gone or its tokens were revoked).
    pub(super) fn reauth(&self, caller: Caller) {
        if let Ok(mut interest) = self.interest.lock() {
            interest.caller = caller;
        }
    }
}

/// The response body of one client's stream. Dropping it (the connection
/// closed, or the stream ended) unregisters the client.
pub struct ClientStream {
    inner: BoxStream<'static, Result<Bytes, std::io::Error>>,
    broker: Arc<Broker>,
    client: Arc<Client>,
}

impl ClientStream {
    /// `client`'s stream of `rx`, ended by `shutdown` or the broker's limits.
    pub fn new(
        broker: Arc<Broker>,
        shutdown: CancellationToken,
        client: Arc<Client>,
        rx: mpsc::Receiver<Bytes>,
    ) -> Self {
        let limits = broker.limits().clone();
        let closed = client.closed.clone();
        let deadline = tokio::time::Instant::now() + limits.max_lifetime;
        let inner = futures_util::stream::unfold(rx, move |mut rx| {
            let (shutdown, closed) = (shutdown.clone(), closed.clone());
            async move {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => None,
                    _ = closed.cancelled() => None,
                    _ = tokio::time::sleep_until(deadline) => None,
                    next = tokio::time::timeout(limits.idle_timeout, rx.recv()) => match next {
                        Ok(Some(frame)) => Some((Ok(frame), rx)),
                        // Idle for too long, or the client was dropped.
                        _ => None,
                    },
                }
            }
        })
        .boxed();
        Self {
            inner,
            broker,
            client,
        }
    }
}

impl Stream for ClientStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        self.client.closed.cancel();
        self.broker.remove(&self.client);
    }
}
