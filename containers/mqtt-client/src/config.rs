//! What the client does, from its environment: the broker's address
//! (`MQTT_BROKER_HOST`, `MQTT_BROKER_PORT`, as xEdgeSim's services read
//! it), the `MODE` and the parameters that mode reads. A parameter the
//! mode does not read is an error, not silently ignored: a test that sets
//! it expects it to matter.

use std::time::Duration;

use rumqttc::QoS;

/// How the client behaves; see the crate's docs for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Echo,
    Periodic,
    Retain,
    NeverConnect,
    ConnectTwice,
    DisconnectAfter,
    DropAfter,
    Malformed,
    Oversized,
    SubscribeAll,
    Flood,
    Late,
    Qos2,
    Mqtt5,
}

/// Every mode's name, as `MODE` spells it.
const MODES: [(&str, Mode); 14] = [
    ("echo", Mode::Echo),
    ("periodic", Mode::Periodic),
    ("retain", Mode::Retain),
    ("never-connect", Mode::NeverConnect),
    ("connect-twice", Mode::ConnectTwice),
    ("disconnect-after", Mode::DisconnectAfter),
    ("drop-after", Mode::DropAfter),
    ("malformed", Mode::Malformed),
    ("oversized", Mode::Oversized),
    ("subscribe-all", Mode::SubscribeAll),
    ("flood", Mode::Flood),
    ("late", Mode::Late),
    ("qos2", Mode::Qos2),
    ("mqtt5", Mode::Mqtt5),
];

/// The parameters an echoing mode reads.
const ECHO: &[&str] = &["SUBSCRIBE", "QOS", "REPLY_PREFIX", "DELAY_MS", "REPLIES"];

impl Mode {
    pub fn name(self) -> &'static str {
        MODES.iter().find(|(_, m)| *m == self).map_or("?", |(name, _)| name)
    }

    /// The parameters this mode reads (besides the broker's address,
    /// `CLIENT_ID` and `KEEP_ALIVE_S`, which every mode may be given).
    fn parameters(self) -> Vec<&'static str> {
        let mut echo = ECHO.to_vec();
        match self {
            Mode::Echo | Mode::Late => echo,
            Mode::SubscribeAll => echo.into_iter().filter(|p| *p != "SUBSCRIBE").collect(),
            Mode::Retain => {
                echo.extend(["TOPIC", "PAYLOAD"]);
                echo
            }
            Mode::ConnectTwice | Mode::DisconnectAfter | Mode::DropAfter => {
                echo.push("AFTER");
                echo
            }
            Mode::Periodic => vec!["TOPIC", "QOS", "PERIOD_MS", "COUNT"],
            Mode::Qos2 => vec!["TOPIC", "PERIOD_MS", "COUNT"],
            Mode::Flood => vec!["TOPIC", "QOS", "COUNT"],
            Mode::Oversized => vec!["TOPIC", "SIZE"],
            Mode::NeverConnect | Mode::Malformed | Mode::Mqtt5 => Vec::new(),
        }
    }

    /// Whether the mode echoes what it receives (and so subscribes).
    pub fn echoes(self) -> bool {
        self.parameters().contains(&"REPLY_PREFIX")
    }
}

/// Every parameter any mode reads: one of them set for a mode that does
/// not read it is an error.
const ALL_PARAMETERS: [&str; 11] = [
    "SUBSCRIBE",
    "QOS",
    "REPLY_PREFIX",
    "DELAY_MS",
    "REPLIES",
    "TOPIC",
    "PAYLOAD",
    "PERIOD_MS",
    "COUNT",
    "AFTER",
    "SIZE",
];

/// The largest remaining length MQTT can encode (4 bytes of 7 bits).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The client's settings, from its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub mode: Mode,
    /// `MQTT_BROKER_HOST`: needed by every mode but `never-connect`.
    pub host: String,
    /// `MQTT_BROKER_PORT`, default 1883.
    pub port: u16,
    /// `CLIENT_ID`, default `HOSTNAME` (a container's id), else `mqtt-client`.
    pub client_id: String,
    /// `KEEP_ALIVE_S`, default 30 (0: none).
    pub keep_alive_s: u16,
    /// `SUBSCRIBE`, comma-separated filters, default `in/#` (`#` in `subscribe-all`).
    pub subscribe: Vec<String>,
    /// `QOS`, 0 or 1, default 0: of subscriptions and publishes (`qos2`: always 2).
    pub qos: QoS,
    /// `REPLY_PREFIX`, default `reply/`: a reply goes to this + the received topic.
    pub reply_prefix: String,
    /// `DELAY_MS` before each reply, default 0 (`late`: 2000).
    pub delay: Duration,
    /// `REPLIES` per message received, default 1.
    pub replies: u32,
    /// `TOPIC` of what it publishes on its own, default `out/<mode>`.
    pub topic: String,
    /// `PAYLOAD` of `retain`'s message, default `retained`.
    pub payload: String,
    /// `PERIOD_MS` between publishes of `periodic` and `qos2`, default 1000.
    pub period: Duration,
    /// `COUNT`: how many `periodic`, `qos2` and `flood` publish (default:
    /// without end; `qos2`: 1).
    pub count: Option<u64>,
    /// `AFTER` this many messages echoed, the mode's fault happens (default 1;
    /// `connect-twice`: 0, at once).
    pub after: u64,
    /// `SIZE`: `oversized`'s PUBLISH's remaining length, default 64 MiB.
    pub size: usize,
}

/// A setting that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("MODE={0:?} is not a mode; one of: {modes}", modes = MODES.map(|(n, _)| n).join(", "))]
    UnknownMode(String),
    #[error("{0} is not set; it is the broker's address (the run sets it)")]
    Missing(&'static str),
    #[error("{name}={value:?}: {expected}")]
    Invalid { name: &'static str, value: String, expected: String },
    #[error("{name} is set but mode {mode} does not read it (it reads: {reads})")]
    NotRead { name: &'static str, mode: &'static str, reads: String },
}

impl Config {
    /// The settings from `var`, which looks a variable up (the process's
    /// environment, or a test's map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mode_name = var("MODE").unwrap_or_else(|| "echo".into());
        let mode = MODES
            .iter()
            .find(|(name, _)| *name == mode_name)
            .map(|(_, m)| *m)
            .ok_or(ConfigError::UnknownMode(mode_name))?;
        let reads = mode.parameters();
        for name in ALL_PARAMETERS {
            if var(name).is_some() && !reads.contains(&name) {
                return Err(ConfigError::NotRead { name, mode: mode.name(), reads: reads.join(", ") });
            }
        }
        let number = |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match var(name) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(ConfigError::Invalid {
                    name,
                    value,
                    expected: format!("a whole number in {} ..= {}", range.start(), range.end()),
                }),
            },
        };
        let host = match var("MQTT_BROKER_HOST") {
            Some(host) if !host.trim().is_empty() => host.trim().to_string(),
            _ if mode == Mode::NeverConnect => String::new(),
            _ => return Err(ConfigError::Missing("MQTT_BROKER_HOST")),
        };
        let port = u16::try_from(number("MQTT_BROKER_PORT", 1883, 1..=65535)?).unwrap_or(1883);
        let qos = match number("QOS", 0, 0..=1)? {
            _ if mode == Mode::Qos2 => QoS::ExactlyOnce,
            0 => QoS::AtMostOnce,
            _ => QoS::AtLeastOnce,
        };
        let subscribe = match (mode, var("SUBSCRIBE")) {
            (Mode::SubscribeAll, _) => vec!["#".to_string()],
            (_, None) => vec!["in/#".to_string()],
            (_, Some(value)) => {
                let filters: Vec<String> = value.split(',').map(|f| f.trim().to_string()).collect();
                if filters.iter().any(String::is_empty) {
                    return Err(ConfigError::Invalid {
                        name: "SUBSCRIBE",
                        value,
                        expected: "topic filters separated by commas, none empty".into(),
                    });
                }
                filters
            }
        };
        let topic = var("TOPIC").unwrap_or_else(|| format!("out/{}", mode.name()));
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(ConfigError::Invalid {
                name: "TOPIC",
                value: topic,
                expected: "a topic without wildcards".into(),
            });
        }
        let size = number("SIZE", 64 << 20, (2 + topic.len() as u64)..=MAX_REMAINING_LENGTH as u64)? as usize;
        let default_delay_ms = if mode == Mode::Late { 2000 } else { 0 };
        let count_default = if mode == Mode::Qos2 { Some(1) } else { None };
        Ok(Config {
            mode,
            host,
            port,
            client_id: var("CLIENT_ID").or_else(|| var("HOSTNAME")).unwrap_or_else(|| "mqtt-client".into()),
            keep_alive_s: u16::try_from(number("KEEP_ALIVE_S", 30, 0..=65535)?).unwrap_or(30),
            subscribe,
            qos,
            reply_prefix: var("REPLY_PREFIX").unwrap_or_else(|| "reply/".into()),
            delay: Duration::from_millis(number("DELAY_MS", default_delay_ms, 0..=3_600_000)?),
            replies: u32::try_from(number("REPLIES", 1, 0..=1_000_000)?).unwrap_or(1),
            topic,
            payload: var("PAYLOAD").unwrap_or_else(|| "retained".into()),
            period: Duration::from_millis(number("PERIOD_MS", 1000, 1..=3_600_000)?),
            count: match var("COUNT") {
                None => count_default,
                Some(_) => Some(number("COUNT", 0, 1..=u64::MAX)?),
            },
            after: number("AFTER", u64::from(mode != Mode::ConnectTwice), 0..=u64::MAX)?,
            size,
        })
    }

    /// One line saying what the client will do, for its log.
    pub fn describe(&self) -> String {
        let mut line = format!("mode {}", self.mode.name());
        if self.mode != Mode::NeverConnect {
            line += &format!(", broker {}:{}, client id {:?}", self.host, self.port, self.client_id);
        }
        let reads = self.mode.parameters();
        let has = |p: &str| reads.contains(&p);
        if self.mode.echoes() {
            line += &format!(
                ", subscribe {:?} at {:?}, reply on {:?} + topic after {} ms, {} per message",
                self.subscribe,
                self.qos,
                self.reply_prefix,
                self.delay.as_millis(),
                self.replies
            );
        }
        if has("TOPIC") {
            line += &format!(", topic {:?}", self.topic);
        }
        if has("PERIOD_MS") {
            line += &format!(", every {} ms", self.period.as_millis());
        }
        if has("COUNT") {
            line += &self.count.map_or(", without end".into(), |n| format!(", {n} messages"));
        }
        if has("AFTER") {
            line += &format!(", after {} messages", self.after);
        }
        if has("SIZE") {
            line += &format!(", remaining length {}", self.size);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn with_host(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vec![("MQTT_BROKER_HOST", "172.18.0.1")];
        all.extend_from_slice(vars);
        parse(&all)
    }

    #[test]
    fn echo_is_the_default_with_the_documented_defaults() {
        let c = with_host(&[]).unwrap();
        assert_eq!(c.mode, Mode::Echo);
        assert_eq!((c.host.as_str(), c.port), ("172.18.0.1", 1883));
        assert_eq!(c.subscribe, vec!["in/#"]);
        assert_eq!(c.qos, QoS::AtMostOnce);
        assert_eq!(c.reply_prefix, "reply/");
        assert_eq!((c.delay, c.replies), (Duration::ZERO, 1));
        assert_eq!(c.client_id, "mqtt-client");
        assert_eq!(c.keep_alive_s, 30);
    }

    #[test]
    fn the_parameters_of_each_mode_are_read() {
        let c = with_host(&[
            ("MQTT_BROKER_PORT", "18883"),
            ("SUBSCRIBE", "a/+, b/#"),
            ("QOS", "1"),
            ("DELAY_MS", "250"),
            ("REPLIES", "3"),
            ("REPLY_PREFIX", "r/"),
            ("CLIENT_ID", "svc"),
        ])
        .unwrap();
        assert_eq!(c.port, 18883);
        assert_eq!(c.subscribe, vec!["a/+", "b/#"]);
        assert_eq!((c.qos, c.delay, c.replies), (QoS::AtLeastOnce, Duration::from_millis(250), 3));
        assert_eq!((c.reply_prefix.as_str(), c.client_id.as_str()), ("r/", "svc"));

        let c = with_host(&[("MODE", "periodic"), ("PERIOD_MS", "20"), ("TOPIC", "t/x"), ("COUNT", "5")]).unwrap();
        assert_eq!(
            (c.mode, c.period, c.topic.as_str(), c.count),
            (Mode::Periodic, Duration::from_millis(20), "t/x", Some(5))
        );
        let c = with_host(&[("MODE", "oversized"), ("SIZE", "1000")]).unwrap();
        assert_eq!((c.size, c.topic.as_str()), (1000, "out/oversized"));
        assert_eq!(with_host(&[("MODE", "oversized")]).unwrap().size, 64 << 20);
        let c = with_host(&[("MODE", "drop-after"), ("AFTER", "4")]).unwrap();
        assert_eq!(c.after, 4);
        assert_eq!(with_host(&[("MODE", "disconnect-after")]).unwrap().after, 1);
        assert_eq!(with_host(&[("MODE", "connect-twice")]).unwrap().after, 0);
    }

    #[test]
    fn modes_have_their_own_defaults() {
        assert_eq!(with_host(&[("MODE", "late")]).unwrap().delay, Duration::from_secs(2));
        assert_eq!(with_host(&[("MODE", "subscribe-all")]).unwrap().subscribe, vec!["#"]);
        let c = with_host(&[("MODE", "qos2")]).unwrap();
        assert_eq!((c.qos, c.count), (QoS::ExactlyOnce, Some(1)));
        assert_eq!(with_host(&[("MODE", "flood")]).unwrap().count, None);
        assert_eq!(parse(&[("HOSTNAME", "3f2a"), ("MODE", "never-connect")]).unwrap().client_id, "3f2a");
    }

    #[test]
    fn only_never_connect_runs_without_a_broker() {
        assert_eq!(parse(&[]), Err(ConfigError::Missing("MQTT_BROKER_HOST")));
        assert_eq!(parse(&[("MQTT_BROKER_HOST", " ")]), Err(ConfigError::Missing("MQTT_BROKER_HOST")));
        assert_eq!(parse(&[("MODE", "never-connect")]).unwrap().mode, Mode::NeverConnect);
        // The run always sets the address: never-connect accepts it.
        assert!(with_host(&[("MODE", "never-connect")]).is_ok());
    }

    #[test]
    fn bad_values_are_errors_naming_the_variable() {
        let invalid = |vars: &[(&str, &str)]| match with_host(vars) {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(invalid(&[("QOS", "2")]), "QOS");
        assert_eq!(invalid(&[("MQTT_BROKER_PORT", "0")]), "MQTT_BROKER_PORT");
        assert_eq!(invalid(&[("MQTT_BROKER_PORT", "70000")]), "MQTT_BROKER_PORT");
        assert_eq!(invalid(&[("DELAY_MS", "-1")]), "DELAY_MS");
        assert_eq!(invalid(&[("SUBSCRIBE", "a,,b")]), "SUBSCRIBE");
        assert_eq!(invalid(&[("MODE", "periodic"), ("TOPIC", "a/#")]), "TOPIC");
        assert_eq!(invalid(&[("MODE", "periodic"), ("COUNT", "0")]), "COUNT");
        assert_eq!(invalid(&[("MODE", "oversized"), ("SIZE", "268435456")]), "SIZE");
        // The topic's own bytes must fit in the remaining length.
        assert_eq!(invalid(&[("MODE", "oversized"), ("TOPIC", "abc"), ("SIZE", "4")]), "SIZE");
        let message = with_host(&[("QOS", "x")]).unwrap_err().to_string();
        assert_eq!(message, r#"QOS="x": a whole number in 0 ..= 1"#);
    }

    #[test]
    fn an_unknown_mode_or_a_parameter_the_mode_does_not_read_is_an_error() {
        let message = with_host(&[("MODE", "ehco")]).unwrap_err().to_string();
        assert!(message.starts_with(r#"MODE="ehco" is not a mode; one of: echo, periodic,"#), "{message}");
        let error = with_host(&[("SIZE", "10")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "SIZE is set but mode echo does not read it (it reads: SUBSCRIBE, QOS, REPLY_PREFIX, DELAY_MS, REPLIES)"
        );
        assert!(matches!(
            with_host(&[("MODE", "subscribe-all"), ("SUBSCRIBE", "a")]),
            Err(ConfigError::NotRead { .. })
        ));
        assert!(matches!(with_host(&[("MODE", "qos2"), ("QOS", "1")]), Err(ConfigError::NotRead { .. })));
        assert!(matches!(with_host(&[("MODE", "malformed"), ("TOPIC", "a")]), Err(ConfigError::NotRead { .. })));
    }

    #[test]
    fn the_description_names_what_the_mode_does() {
        let line = with_host(&[("MODE", "drop-after"), ("AFTER", "2")]).unwrap().describe();
        assert_eq!(
            line,
            r#"mode drop-after, broker 172.18.0.1:1883, client id "mqtt-client", subscribe ["in/#"] at AtMostOnce, reply on "reply/" + topic after 0 ms, 1 per message, after 2 messages"#
        );
        assert_eq!(parse(&[("MODE", "never-connect")]).unwrap().describe(), "mode never-connect");
    }
}
