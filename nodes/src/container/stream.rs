//! [`RunStream`]: a run as a stream of its output lines, then its outcome.
//! Dropping the stream drops the run, whose guard removes the container.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::outcome::{Event, Job, Line, Outcome, RunError};
use super::runner::Runner;
use super::spec::ContainerSpec;

/// How many lines may wait for a slow reader before the run waits too.
const BACKLOG: usize = 64;

/// A streamed run: [`Event::Line`]s as they are written, then one
/// [`Event::Done`] (or an error), then the end.
pub struct RunStream {
    run: Option<BoxFuture<'static, Result<Outcome, RunError>>>,
    lines: mpsc::Receiver<Line>,
    ended: Option<Result<Outcome, RunError>>,
}

impl RunStream {
    /// Starts nothing until polled.
    pub fn new(runner: Runner, spec: ContainerSpec, job: Job, process: String) -> RunStream {
        let (sender, lines) = mpsc::channel(BACKLOG);
        let run =
            Box::pin(async move { runner.execute(&spec, &job, &process, Some(&sender)).await });
        RunStream {
            run: Some(run),
            lines,
            ended: None,
        }
    }
}

impl Stream for RunStream {
    type Item = Result<Event, RunError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(run) = this.run.as_mut()
            && let Poll::Ready(ended) = run.as_mut().poll(cx)
        {
            // The sender went with the run: the lines still queued come
            // first, then the end.
            this.run = None;
            this.ended = Some(ended);
        }
        match this.lines.poll_recv(cx) {
            Poll::Ready(Some(line)) => return Poll::Ready(Some(Ok(Event::Line(line)))),
            Poll::Pending if this.run.is_some() => return Poll::Pending,
            _ => {}
        }
        if this.run.is_some() {
            return Poll::Pending;
        }
        Poll::Ready(this.ended.take().map(|ended| ended.map(Event::Done)))
    }
}
