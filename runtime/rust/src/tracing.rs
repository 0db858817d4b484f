//! OpenTelemetry spans of `docs/runtime.md` ("Tracing", feature `tracing`):
//! `send {topic}` (PRODUCER) with W3C trace context injected into the record
//! headers, and `process {topic}` (CONSUMER), a child of the producer's span
//! (a batch: one span linked to each record's producer span).
//!
//! Spans go to the global tracer provider. Without one the tracer is a no-op:
//! its span contexts are invalid, so nothing is injected into headers.

use std::borrow::Cow;

use opentelemetry::global::{self, BoxedSpan, BoxedTracer};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{Link, Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::Header;

const INSTRUMENTATION_NAME: &str = "contracts_runtime";

fn tracer() -> BoxedTracer {
    global::tracer(INSTRUMENTATION_NAME)
}

/// The key as an attribute value when it is text.
fn key_text(key: Option<&[u8]>) -> Option<String> {
    key.and_then(|key| std::str::from_utf8(key).ok()).map(str::to_owned)
}

fn common(topic: &str, operation: &'static str) -> Vec<KeyValue> {
    vec![
        KeyValue::new("messaging.system", "kafka"),
        KeyValue::new("messaging.destination.name", topic.to_owned()),
        KeyValue::new("messaging.operation.name", operation),
        KeyValue::new("messaging.operation.type", operation),
    ]
}

/// A started `send {topic}` span (none for records the runtime writes itself).
pub(crate) struct SendSpan(Option<BoxedSpan>);

/// No span: dead letters are not traced as sends of their own.
pub(crate) fn start_send_untraced() -> SendSpan {
    SendSpan(None)
}

/// Starts `send {topic}` and returns it with the trace-context headers to add
/// to the record (none when tracing goes nowhere).
pub(crate) fn start_send(topic: &str, key: Option<&[u8]>) -> (SendSpan, Vec<Header>) {
    let tracer = tracer();
    let mut attributes = common(topic, "send");
    if let Some(key) = key_text(key) {
        attributes.push(KeyValue::new("messaging.kafka.message.key", key));
    }
    let span = tracer
        .span_builder(format!("send {topic}"))
        .with_kind(SpanKind::Producer)
        .with_attributes(attributes)
        .start_with_context(&tracer, &Context::new());
    let mut headers = HeaderInjector(Vec::new());
    if span.span_context().is_valid() {
        let context = Context::new().with_remote_span_context(span.span_context().clone());
        TraceContextPropagator::new().inject_context(&context, &mut headers);
    }
    (SendSpan(Some(span)), headers.0)
}

impl SendSpan {
    /// Ends the span with where the record landed, or the error.
    pub fn end(self, outcome: Result<(i32, i64), String>) {
        let Some(mut span) = self.0 else { return };
        match outcome {
            Ok((partition, offset)) => {
                span.set_attribute(KeyValue::new("messaging.destination.partition.id", partition.to_string()));
                span.set_attribute(KeyValue::new("messaging.kafka.offset", offset));
            }
            Err(error) => span.set_status(Status::error(error)),
        }
        span.end();
    }
}

/// What a `process {topic}` span describes.
pub(crate) struct Processed<'a> {
    pub topic: &'a str,
    pub group: &'a str,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub batch_size: Option<usize>,
}

/// A current `process {topic}` span; dropping the guard detaches it.
pub(crate) struct ProcessSpan {
    context: Context,
    _attached: opentelemetry::ContextGuard,
}

/// Starts `process {topic}` as a child of the producer's span found in
/// `parents` (one record), or linked to each one's (a batch), and makes it
/// current so the handler's own spans nest under it.
pub(crate) fn start_process(processed: &Processed<'_>, parents: &[&[Header]]) -> ProcessSpan {
    let tracer = tracer();
    let propagator = TraceContextPropagator::new();
    let mut attributes = common(processed.topic, "process");
    attributes.push(KeyValue::new("messaging.consumer.group.name", processed.group.to_owned()));
    if let Some(partition) = processed.partition {
        attributes.push(KeyValue::new("messaging.destination.partition.id", partition.to_string()));
    }
    if let Some(offset) = processed.offset {
        attributes.push(KeyValue::new("messaging.kafka.offset", offset));
    }
    if let Some(key) = key_text(processed.key) {
        attributes.push(KeyValue::new("messaging.kafka.message.key", key));
    }
    let builder = tracer.span_builder(format!("process {}", processed.topic)).with_kind(SpanKind::Consumer);
    let span = match processed.batch_size {
        None => {
            let parent = propagator.extract(&HeaderExtractor(parents.first().copied().unwrap_or_default()));
            builder.with_attributes(attributes).start_with_context(&tracer, &parent)
        }
        Some(size) => {
            attributes.push(KeyValue::new("messaging.batch.message_count", size as i64));
            let links: Vec<Link> = parents
                .iter()
                .map(|headers| propagator.extract(&HeaderExtractor(headers)).span().span_context().clone())
                .filter(|context| context.is_valid())
                .map(Link::with_context)
                .collect();
            builder.with_attributes(attributes).with_links(links).start_with_context(&tracer, &Context::new())
        }
    };
    let context = Context::new().with_span(span);
    ProcessSpan { _attached: context.clone().attach(), context }
}

impl ProcessSpan {
    /// Ends the span, marked failed when the records were not handled.
    pub fn end(self, failure: Option<&str>) {
        let span = self.context.span();
        if let Some(error) = failure {
            span.set_status(Status::Error { description: Cow::Owned(error.to_owned()) });
        }
        span.end();
    }
}

struct HeaderInjector(Vec<Header>);

impl Injector for HeaderInjector {
    fn set(&mut self, key: &str, value: String) {
        self.0.push(Header::new(key, value));
    }
}

struct HeaderExtractor<'a>(&'a [Header]);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let header = self.0.iter().find(|header| header.key.eq_ignore_ascii_case(key))?;
        std::str::from_utf8(&header.value).ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|header| header.key.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_tracer_provider_nothing_is_injected() {
        let (span, headers) = start_send("audit.events.v1", Some(b"eu-1"));
        assert!(headers.is_empty(), "{headers:?}");
        span.end(Ok((0, 1)));
    }

    #[test]
    fn trace_context_is_read_from_headers_whatever_the_flags() {
        let headers = [Header::new("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03")];
        let context = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
        let parent = context.span().span_context().clone();
        assert!(parent.is_valid());
        assert_eq!(parent.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(parent.span_id().to_string(), "b7ad6b7169203331");
    }
}
