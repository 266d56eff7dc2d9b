//! The `ml_inference` model: the MQTT inference service of
//! `containers/ml-inference` as a WASM node. It loads an ONNX model from
//! its read-only data (`wasm.files`, `/data/<model>`) with tract (pure
//! Rust, in the sandbox: its memory counts against the node's cap),
//! subscribes to `ml/inference/request` at its first step and answers each
//! request with one publish on `ml/inference/result/<device_id>`:
//!
//! ```text
//! request: {"device_id":"s1","timestamp_us":1000,"features":[32 numbers]}
//! answer:  {"device_id":"s1","timestamp_us":1000,"prediction":0.53,"inference_time_ms":0.0}
//! ```
//!
//! `prediction` is the model's first output value (float32, written as
//! the shortest decimal that reads back to it as f64, as Python's `json`
//! writes it). `inference_time_ms` is the time the inference took on the
//! node's clock, which is virtual and stands still within a step: always
//! 0.0, so runs are reproducible (the compute time of a step is what
//! `cpu:` models on the virtual clock). A request it cannot use is a
//! warning in its log and no answer, as the container's.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use xedgesim_model::{
    Address, Config, ConfigKey, ConfigReader, LogLevel, Message, Metric, NodeModel, Outgoing, StepOutput,
};

/// What it sends and reports, for its reference.
pub const SENDS: &str = "Subscribes to `request_topic` (default `ml/inference/request`) at its first step; answers \
each request `{\"device_id\":\"s1\",\"timestamp_us\":1000,\"features\":[…]}` with one publish on \
`ml/inference/result/<device_id>`: `{\"device_id\":\"s1\",\"timestamp_us\":1000,\"prediction\":0.53,\
\"inference_time_ms\":0.0}` (the model's first output; `inference_time_ms` is virtual, 0). Metrics: \
`requests_answered`, `requests_refused`.";

/// The `config:` keys it takes.
pub const CONFIG: &[ConfigKey] = &[
    ConfigKey::text("model", "the ONNX model: a name under `wasm.files` (read at /data/NAME)")
        .default_text("model.onnx"),
    ConfigKey::text("request_topic", "the topic it answers").default_text("ml/inference/request"),
    ConfigKey::text("result_topic_prefix", "each answer's topic is this and the request's device_id")
        .default_text("ml/inference/result/"),
];

type Plan = Arc<TypedRunnableModel>;

pub struct MlInference {
    plan: Plan,
    /// The model's input width, when the model fixes it.
    width: Option<usize>,
    subscribe: Option<String>,
    result_topic_prefix: String,
    answered: u64,
    refused: u64,
}

/// Loads `bytes` as a single-input, single-output ONNX model taking one
/// row of float32 features; an error says why it cannot.
fn load(bytes: &[u8]) -> Result<(Plan, Option<usize>), String> {
    let tract = |e: TractError| format!("{e:#}");
    let model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).map_err(tract)?;
    let (inputs, outputs) = (model.input_outlets().map_err(tract)?.len(), model.output_outlets().map_err(tract)?.len());
    if inputs != 1 || outputs != 1 {
        return Err(format!("expected one input and one output, found {inputs} and {outputs}"));
    }
    let fact = model.input_fact(0).map_err(tract)?;
    let width = fact
        .shape
        .dims()
        .last()
        .and_then(|d| d.concretize())
        .and_then(|d| d.to_i64().ok())
        .and_then(|d| usize::try_from(d).ok())
        .ok_or("its input's last dimension is not a fixed number of features")?;
    let model = model.with_input_fact(0, f32::fact([1, width]).into()).map_err(tract)?;
    let plan = model.into_optimized().and_then(|m| m.into_runnable()).map_err(tract)?;
    Ok((plan, Some(width)))
}

impl NodeModel for MlInference {
    const CONFIG: Option<&'static [ConfigKey]> = Some(CONFIG);

    fn new(id: &str, config: &Config) -> Result<Self, String> {
        let c = ConfigReader::of::<Self>(config)?;
        let model = c.string("model")?;
        if model.is_empty() || model.contains('/') {
            return Err(format!("config key 'model' must name one file of `wasm.files`; found {model:?}"));
        }
        let path = format!("/data/{model}");
        let bytes = std::fs::read(&path).map_err(|e| {
            format!(
                "cannot read its model {path} ({e}); give the file with `wasm: {{files: {{{model}: path/to/{model}}}}}`"
            )
        })?;
        let (plan, width) = load(&bytes).map_err(|e| {
            format!(
                "{path} is not a model it can run: {e}; give an ONNX model with one float32 input [batch, N] and one output"
            )
        })?;
        xedgesim_model::log(LogLevel::Info, &format!("{id}: model {path} ({} bytes), {width:?} features", bytes.len()));
        Ok(MlInference {
            plan,
            width,
            subscribe: Some(c.string("request_topic")?),
            result_topic_prefix: c.string("result_topic_prefix")?,
            answered: 0,
            refused: 0,
        })
    }

    fn step(&mut self, _now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, String> {
        let mut outbox = Vec::new();
        if let Some(topic) = self.subscribe.take() {
            outbox.push(Outgoing {
                destination: Address::Publish,
                topic: "$subscribe".into(),
                payload: topic.into_bytes(),
            });
        }
        for message in inbox {
            match self.answer(&message.payload) {
                Ok((device_id, payload)) => {
                    self.answered += 1;
                    outbox.push(Outgoing {
                        destination: Address::Publish,
                        topic: format!("{}{device_id}", self.result_topic_prefix),
                        payload,
                    });
                }
                Err(reason) => {
                    self.refused += 1;
                    xedgesim_model::log(LogLevel::Warn, &format!("request on {} refused: {reason}", message.topic));
                }
            }
        }
        Ok(StepOutput { outbox, wake_at_us: None })
    }

    fn finish(&mut self) -> Vec<Metric> {
        vec![
            Metric::new("requests_answered", self.answered as f64),
            Metric::new("requests_refused", self.refused as f64),
        ]
    }
}

/// A request's parts, checked as the container checks them.
struct Request {
    device_id: String,
    timestamp_us: serde_json::Number,
    features: Vec<f32>,
}

fn parse_request(payload: &[u8], width: Option<usize>) -> Result<Request, String> {
    let request: serde_json::Value = serde_json::from_slice(payload).map_err(|e| format!("not UTF-8 JSON: {e}"))?;
    let object = request.as_object().ok_or("not a JSON object")?;
    let device_id = match object.get("device_id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err("device_id must be a non-empty string".into()),
    };
    if device_id.contains(['/', '+', '#', '\0']) {
        return Err(format!("device_id {device_id:?} has a character not allowed in one topic level (/ + # or NUL)"));
    }
    let timestamp_us = match object.get("timestamp_us") {
        Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => n.clone(),
        _ => return Err(format!("timestamp_us of {device_id} must be an integer")),
    };
    let Some(serde_json::Value::Array(values)) = object.get("features") else {
        return Err(format!("features of {device_id} must be a list of numbers"));
    };
    let mut features = Vec::with_capacity(values.len());
    for value in values {
        match value.as_f64() {
            Some(x) if x.is_finite() => features.push(x as f32),
            _ => return Err(format!("features of {device_id} must be finite numbers, found {value}")),
        }
    }
    if let Some(width) = width
        && features.len() != width
    {
        return Err(format!("features of {device_id}: {} values, the model takes {width}", features.len()));
    }
    Ok(Request { device_id, timestamp_us, features })
}

impl MlInference {
    /// The prediction for one request: its device id and the answer's payload.
    fn answer(&self, payload: &[u8]) -> Result<(String, Vec<u8>), String> {
        let request = parse_request(payload, self.width)?;
        let prediction = self.predict(&request.features)?;
        let answer = format!(
            "{{\"device_id\":{},\"timestamp_us\":{},\"prediction\":{},\"inference_time_ms\":0.0}}",
            serde_json::Value::String(request.device_id.clone()),
            request.timestamp_us,
            json_number(f64::from(prediction)),
        );
        Ok((request.device_id, answer.into_bytes()))
    }

    /// The model's first output value for one row of features.
    pub fn predict(&self, features: &[f32]) -> Result<f32, String> {
        let input =
            tract_ndarray::Array2::from_shape_vec((1, features.len()), features.to_vec()).map_err(|e| e.to_string())?;
        let outputs =
            self.plan.run(tvec!(Tensor::from(input).into())).map_err(|e| format!("inference failed: {e:#}"))?;
        let output = outputs.first().ok_or("the model gave no output")?;
        let values =
            output.to_plain_array_view::<f32>().map_err(|e| format!("the model's output is not float32: {e}"))?;
        values.iter().next().copied().ok_or_else(|| "the model's output is empty".to_string())
    }
}

/// `x` as JSON writes it (a non-finite prediction is `null`).
fn json_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    let text = format!("{x}");
    // As Python's json: a whole number keeps its `.0`.
    if text.contains(['.', 'e', 'E']) { text } else { format!("{text}.0") }
}

xedgesim_model::export_model!(MlInference);
