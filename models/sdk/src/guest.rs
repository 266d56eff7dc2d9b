//! The component side: adapts a [`NodeModel`] to the generated bindings of
//! `wit/node.wit`. Compiled only for `wasm32`.

use std::cell::RefCell;

use crate::bindings::exports::xedgesim::node::declaration as wit_declaration;
use crate::bindings::exports::xedgesim::node::model as wit_model;
use crate::bindings::xedgesim::node::{log as wit_log, outbox, sandbox, types as wit};
use crate::{Address, ConfigValue, LogLevel, Message, Metric, NodeModel, Outgoing, StepOutput, ValueKind};

/// Names the model type a component exports; implemented by [`export_model!`](crate::export_model).
pub trait ExportedModel: 'static {
    type Model: NodeModel;
}

/// One node resource: the model behind a `RefCell` (resource methods take
/// `&self`), and the node's id, to address unpacked messages to it.
pub struct GuestNode<M> {
    model: RefCell<M>,
    id: String,
}

fn config_value(v: wit::ConfigValue) -> ConfigValue {
    match v {
        wit::ConfigValue::Boolean(b) => ConfigValue::Boolean(b),
        wit::ConfigValue::Integer(i) => ConfigValue::Integer(i),
        wit::ConfigValue::Float(f) => ConfigValue::Float(f),
        wit::ConfigValue::Text(s) => ConfigValue::Text(s),
        wit::ConfigValue::Json(s) => ConfigValue::Json(s),
    }
}

/// Unpacks an inbox into messages addressed to `me`.
fn unpack(inbox: wit::Inbox, me: &str) -> Vec<Message> {
    let text = |start: u32, len: u32| {
        let bytes = inbox.text.get(start as usize..start as usize + len as usize).unwrap_or_default();
        // `from_utf8` checks a word at a time; the lossy form goes byte by
        // byte, which on a long topic costs more fuel than the step has.
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        }
    };
    inbox
        .headers
        .iter()
        .map(|h| Message {
            source: text(h.source_start, h.source_len),
            destination: if h.published { Address::Publish } else { Address::Node(me.to_string()) },
            topic: text(h.topic_start, h.topic_len),
            payload: inbox
                .payloads
                .get(h.payload_start as usize..h.payload_start as usize + h.payload_len as usize)
                .unwrap_or_default()
                .to_vec(),
            sent_us: h.sent_us,
        })
        .collect()
}

fn outgoing(o: Outgoing) -> wit::Outgoing {
    wit::Outgoing {
        destination: match o.destination {
            Address::Node(id) => wit::Address::Node(id),
            Address::Publish => wit::Address::Publish,
        },
        topic: o.topic,
        payload: o.payload,
    }
}

/// Sends a step's messages through the host, in order, and returns the rest.
fn step_result(r: Result<StepOutput, String>) -> Result<wit::StepOutput, wit::NodeError> {
    match r {
        Ok(out) => {
            for message in out.outbox {
                outbox::send(&outgoing(message));
            }
            Ok(wit::StepOutput { wake_at_us: out.wake_at_us })
        }
        Err(message) => Err(wit::NodeError { message }),
    }
}

/// Runs `f` as call `call` of the current export: the host then charges
/// its fuel, randomness and log lines to that call's node (see the
/// `sandbox` interface in `wit/node.wit`).
fn entered<R>(call: u32, f: impl FnOnce() -> R) -> R {
    sandbox::enter(call);
    let r = f();
    // What the node printed without a newline is still in this instance's
    // stdout buffer: hand it over while the node is still the one running,
    // or the next node's output would complete its line. (Free when empty.)
    let _ = std::io::Write::flush(&mut std::io::stdout());
    sandbox::leave();
    r
}

impl<M: NodeModel> GuestNode<M> {
    fn step_inner(&self, now_us: u64, inbox: wit::Inbox) -> Result<wit::StepOutput, wit::NodeError> {
        let inbox = unpack(inbox, &self.id);
        step_result(self.model.borrow_mut().step(now_us, inbox))
    }
}

impl<M: NodeModel> wit_model::GuestNode for GuestNode<M> {
    fn new(id: String, config: Vec<wit::ConfigEntry>) -> Result<Self, String> {
        let config = config.into_iter().map(|e| (e.key, config_value(e.value))).collect();
        M::new(&id, &config).map(|m| GuestNode { model: RefCell::new(m), id })
    }

    fn step(&self, now_us: u64, inbox: wit::Inbox) -> Result<wit::StepOutput, wit::NodeError> {
        entered(0, || self.step_inner(now_us, inbox))
    }

    fn finish(&self) -> Vec<wit::Metric> {
        entered(0, || {
            let metrics = self.model.borrow_mut().finish();
            metrics.into_iter().map(|Metric { name, value }| wit::Metric { name, value }).collect()
        })
    }
}

impl<E: ExportedModel> wit_model::Guest for E {
    type Node = GuestNode<E::Model>;

    fn step_batch(calls: Vec<wit_model::StepCall<'_>>) -> Vec<Result<wit::StepOutput, wit::NodeError>> {
        let mut results = Vec::with_capacity(calls.len());
        for (call, c) in (0u32..).zip(calls) {
            results.push(entered(call, || c.node.get::<GuestNode<E::Model>>().step_inner(c.now_us, c.inbox)));
        }
        results
    }
}

impl<E: ExportedModel> wit_declaration::Guest for E {
    fn config_keys() -> Option<wit_declaration::ConfigDeclaration> {
        let keys = <E::Model as NodeModel>::CONFIG?;
        let mut text = Vec::new();
        let mut push = |s: &str| {
            let start = text.len() as u32;
            text.extend_from_slice(s.as_bytes());
            (start, s.len() as u32)
        };
        let keys = keys
            .iter()
            .map(|k| {
                let (name_start, name_len) = push(k.name);
                let default = k.default.map(|d| d.to_string());
                let (default_start, default_len) = push(default.as_deref().unwrap_or(""));
                let (doc_start, doc_len) = push(k.doc);
                wit_declaration::ConfigKey {
                    name_start,
                    name_len,
                    kind: match k.kind {
                        ValueKind::Boolean => wit_declaration::ValueKind::Boolean,
                        ValueKind::Integer => wit_declaration::ValueKind::Integer,
                        ValueKind::Number => wit_declaration::ValueKind::Number,
                        ValueKind::Text => wit_declaration::ValueKind::Text,
                        ValueKind::Json => wit_declaration::ValueKind::Json,
                    },
                    has_default: default.is_some(),
                    default_start,
                    default_len,
                    required: k.required,
                    names_node: k.names_node,
                    doc_start,
                    doc_len,
                }
            })
            .collect();
        Some(wit_declaration::ConfigDeclaration { keys, text })
    }
}

pub fn log(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Trace => wit_log::Level::Trace,
        LogLevel::Debug => wit_log::Level::Debug,
        LogLevel::Info => wit_log::Level::Info,
        LogLevel::Warn => wit_log::Level::Warn,
        LogLevel::Error => wit_log::Level::Error,
    };
    wit_log::log(level, message);
}

/// Exports `$export` (an [`ExportedModel`]) through the generated bindings.
#[macro_export]
#[doc(hidden)]
macro_rules! export_guest {
    ($export:ident) => {
        $crate::bindings::export!($export with_types_in $crate::bindings);
    };
}
