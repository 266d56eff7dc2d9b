//! The component side: adapts a [`NodeModel`] to the generated bindings of
//! `wit/node.wit`. Compiled only for `wasm32`.

use std::cell::RefCell;

use crate::bindings::exports::xedgesim::node::model as wit_model;
use crate::bindings::xedgesim::node::{log as wit_log, types as wit};
use crate::{Address, ConfigValue, LogLevel, Message, Metric, NodeModel, Outgoing, StepOutput};

/// Names the model type a component exports; implemented by [`export_model!`](crate::export_model).
pub trait ExportedModel: 'static {
    type Model: NodeModel;
}

/// One node resource: the model behind a `RefCell`, as resource methods take `&self`.
pub struct GuestNode<M>(RefCell<M>);

fn config_value(v: wit::ConfigValue) -> ConfigValue {
    match v {
        wit::ConfigValue::Boolean(b) => ConfigValue::Boolean(b),
        wit::ConfigValue::Integer(i) => ConfigValue::Integer(i),
        wit::ConfigValue::Float(f) => ConfigValue::Float(f),
        wit::ConfigValue::Text(s) => ConfigValue::Text(s),
        wit::ConfigValue::Json(s) => ConfigValue::Json(s),
    }
}

fn message(m: wit::Message) -> Message {
    Message {
        source: m.source,
        destination: match m.destination {
            wit::Address::Node(id) => Address::Node(id),
            wit::Address::Publish => Address::Publish,
        },
        topic: m.topic,
        payload: m.payload,
        sent_us: m.sent_us,
    }
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

fn step_result(r: Result<StepOutput, String>) -> Result<wit::StepOutput, wit::NodeError> {
    match r {
        Ok(out) => {
            Ok(wit::StepOutput { outbox: out.outbox.into_iter().map(outgoing).collect(), wake_at_us: out.wake_at_us })
        }
        Err(message) => Err(wit::NodeError { message }),
    }
}

impl<M: NodeModel> GuestNode<M> {
    fn step_inner(&self, now_us: u64, inbox: Vec<wit::Message>) -> Result<wit::StepOutput, wit::NodeError> {
        let inbox = inbox.into_iter().map(message).collect();
        step_result(self.0.borrow_mut().step(now_us, inbox))
    }
}

impl<M: NodeModel> wit_model::GuestNode for GuestNode<M> {
    fn new(id: String, config: Vec<wit::ConfigEntry>) -> Result<Self, String> {
        let config = config.into_iter().map(|e| (e.key, config_value(e.value))).collect();
        M::new(&id, &config).map(|m| GuestNode(RefCell::new(m)))
    }

    fn step(&self, now_us: u64, inbox: Vec<wit::Message>) -> Result<wit::StepOutput, wit::NodeError> {
        self.step_inner(now_us, inbox)
    }

    fn finish(&self) -> Vec<wit::Metric> {
        self.0.borrow_mut().finish().into_iter().map(|Metric { name, value }| wit::Metric { name, value }).collect()
    }
}

impl<E: ExportedModel> wit_model::Guest for E {
    type Node = GuestNode<E::Model>;

    fn step_batch(calls: Vec<wit_model::StepCall<'_>>) -> Vec<Result<wit::StepOutput, wit::NodeError>> {
        calls.into_iter().map(|c| c.node.get::<GuestNode<E::Model>>().step_inner(c.now_us, c.inbox)).collect()
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
