//! [`Endpoint`]: the host as one MQTT container's broker. A listener on
//! the run network's gateway address, one connection at a time, MQTT 3.1.1
//! packets read and written by rumqttc's codec. What the container does
//! becomes [`Event`]s for its node; what the simulation delivers to it is
//! written as PUBLISH. Keep-alive is answered here, on the wall clock, so it
//! never depends on how fast the simulation runs. Anything the host does
//! not support (QoS 2, MQTT 5 or 3.1, a second connection) ends the session
//! with a [`Event::Violation`] naming the packet: never ignored.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS, valid_filter, valid_topic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::super::engine::DockerEngine;

/// Events read ahead of the node: past them the endpoint stops reading,
/// so a container that floods is held back by TCP, not buffered here.
const EVENTS_AHEAD: usize = 1024;

/// What the container did, in the order it did it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connected {
        client_id: String,
    },
    /// Filters granted (at QoS 0 or 1) and filters refused as invalid.
    Subscribed {
        granted: Vec<(String, QoS)>,
        refused: Vec<String>,
    },
    Unsubscribed {
        filters: Vec<String>,
    },
    /// A PUBLISH (QoS 0 or 1), or its will when it went away without DISCONNECT.
    Published {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    },
    /// The session ended without a violation: `why` in words.
    Disconnected {
        why: String,
    },
    /// The session ended on something the host does not accept.
    Violation {
        what: String,
    },
}

/// A message the simulation delivers to the container.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
}

/// One node's endpoint. Dropping it stops serving.
pub struct Endpoint {
    pub address: SocketAddr,
    events: mpsc::Receiver<(Event, Instant)>,
    deliveries: mpsc::UnboundedSender<Delivery>,
    /// Deliveries that found no connection open (written by the server).
    undelivered: Arc<AtomicU64>,
    task: tokio::task::AbortHandle,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Endpoint {
    /// Listens on `ip` (a port the system picks) for packets of at most
    /// `max_packet_bytes`.
    pub async fn open(engine: &DockerEngine, ip: Ipv4Addr, max_packet_bytes: usize) -> std::io::Result<Endpoint> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let address = listener.local_addr()?;
        let (events_tx, events) = mpsc::channel(EVENTS_AHEAD);
        let (deliveries, deliveries_rx) = mpsc::unbounded_channel();
        let undelivered = Arc::new(AtomicU64::new(0));
        let server = Server {
            listener,
            events: events_tx,
            deliveries: deliveries_rx,
            undelivered: undelivered.clone(),
            max_packet_bytes,
        };
        let task = engine.spawn(server.serve());
        Ok(Endpoint { address, events, deliveries, undelivered, task })
    }

    /// The next event, or `None` once `deadline` passes.
    pub async fn next_event(&mut self, deadline: tokio::time::Instant) -> Option<(Event, Instant)> {
        tokio::time::timeout_at(deadline, self.events.recv()).await.ok().flatten()
    }

    /// An event already read, without waiting.
    pub fn try_event(&mut self) -> Option<(Event, Instant)> {
        self.events.try_recv().ok()
    }

    pub fn deliver(&self, delivery: Delivery) {
        // A closed channel means the server stopped; `undelivered` cannot count it then.
        if self.deliveries.send(delivery).is_err() {
            self.undelivered.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deliveries that found no connection open.
    pub fn undelivered(&self) -> u64 {
        self.undelivered.load(Ordering::Relaxed)
    }
}

struct Server {
    listener: TcpListener,
    events: mpsc::Sender<(Event, Instant)>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    undelivered: Arc<AtomicU64>,
    max_packet_bytes: usize,
}

impl Server {
    async fn serve(mut self) {
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                delivery = self.deliveries.recv() => match delivery {
                    Some(_) => {
                        self.undelivered.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    None => return,
                },
            };
            let _ = stream.set_nodelay(true);
            if !self.session(stream).await {
                return;
            }
        }
    }

    /// Serves one connection to its end; `false` once nobody reads events.
    async fn session(&mut self, stream: TcpStream) -> bool {
        let mut session = Session::default();
        let (mut reader, mut writer) = stream.into_split();
        let mut input = BytesMut::with_capacity(4096);
        let mut last_packet = tokio::time::Instant::now();
        let (event, will) = loop {
            let idle_limit = session.keep_alive.map(|k| last_packet + k * 3 / 2);
            tokio::select! {
                read = reader.read_buf(&mut input) => {
                    match read {
                        Ok(0) => break (Event::Disconnected { why: "it closed the connection without DISCONNECT".into() }, true),
                        Err(e) => break (Event::Disconnected { why: format!("the connection broke: {e}") }, true),
                        Ok(_) => {}
                    }
                    last_packet = tokio::time::Instant::now();
                    // Acknowledged at once: a client that holds its next
                    // PUBLISH until its last is acknowledged (Nagle) would
                    // otherwise wait out the host's delayed ACK, up to 40 ms,
                    // longer than an answer's quiet time.
                    let _ = rustix::net::sockopt::set_tcp_quickack(reader.as_ref(), true);
                    let mut output = BytesMut::new();
                    let mut ended = None;
                    loop {
                        // Its start, for an error's message: a failed read may have taken it off.
                        let mut head = [0u8; 16];
                        let kept = input.len().min(head.len());
                        head[..kept].copy_from_slice(&input[..kept]);
                        match Packet::read(&mut input, self.max_packet_bytes) {
                            Ok(packet) => match session.handle(packet, &mut output) {
                                Ok(events) => {
                                    for event in events {
                                        if self.events.send((event, Instant::now())).await.is_err() {
                                            return false;
                                        }
                                    }
                                }
                                Err(end) => {
                                    ended = Some(end);
                                    break;
                                }
                            },
                            Err(CodecError::InsufficientBytes(_)) => break,
                            Err(e) => {
                                let what = describe(&e, &head[..kept], session.connected, self.max_packet_bytes);
                                ended = Some((Event::Violation { what }, false));
                                break;
                            }
                        }
                    }
                    if !output.is_empty() && writer.write_all(&output).await.is_err() {
                        break (Event::Disconnected { why: "the connection broke while the host wrote to it".into() }, true);
                    }
                    if let Some(end) = ended {
                        break end;
                    }
                }
                delivery = self.deliveries.recv() => {
                    let Some(delivery) = delivery else { return false };
                    if !session.connected {
                        self.undelivered.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let mut output = BytesMut::new();
                    session.publish(delivery, &mut output);
                    if writer.write_all(&output).await.is_err() {
                        self.undelivered.fetch_add(1, Ordering::Relaxed);
                        break (Event::Disconnected { why: "the connection broke while the host wrote to it".into() }, true);
                    }
                }
                accepted = self.listener.accept() => {
                    drop(accepted);
                    let what = "a second connection while its first was open: one connection per node \
                        (a client that reconnects must close the first)".to_string();
                    break (Event::Violation { what }, false);
                }
                () = sleep_until_or_never(idle_limit) => {
                    let keep_alive = session.keep_alive.unwrap_or_default().as_secs();
                    let why = format!("it sent nothing for 1.5 × its keep-alive ({keep_alive} s)");
                    break (Event::Disconnected { why }, true);
                }
            }
        };
        let _ = writer.shutdown().await;
        if will
            && let Some(will) = session.will.take()
            && self.events.send((will, Instant::now())).await.is_err()
        {
            return false;
        }
        self.events.send((event, Instant::now())).await.is_ok()
    }
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One connection's state.
#[derive(Default)]
struct Session {
    connected: bool,
    keep_alive: Option<Duration>,
    /// Its last will, published when it goes away without DISCONNECT.
    will: Option<Event>,
    next_packet_id: u16,
}

/// How a session ends: the event, and whether its will is published.
type End = (Event, bool);

impl Session {
    /// Answers `packet` into `output`; the events it makes, or how the session ends.
    fn handle(&mut self, packet: Packet, output: &mut BytesMut) -> Result<Vec<Event>, End> {
        let violation = |what: String| Err((Event::Violation { what }, false));
        if !self.connected && !matches!(packet, Packet::Connect(_)) {
            return violation(format!("a {} before CONNECT: a client connects first", name(&packet)));
        }
        match packet {
            Packet::Connect(connect) => {
                if self.connected {
                    return violation("a second CONNECT on one connection (MQTT 3.1.1, 3.1.0-2)".into());
                }
                if connect.protocol != rumqttc::mqttbytes::Protocol::V4 {
                    return violation(MQTT5.into());
                }
                write(Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)), output);
                self.connected = true;
                self.keep_alive = (connect.keep_alive > 0).then(|| Duration::from_secs(connect.keep_alive.into()));
                if let Some(will) = connect.last_will {
                    if will.qos == QoS::ExactlyOnce {
                        return violation("a CONNECT whose will has QoS 2: QoS 0 and 1 only".into());
                    }
                    self.will = Some(Event::Published {
                        topic: will.topic,
                        payload: will.message.to_vec(),
                        retain: will.retain,
                    });
                }
                Ok(vec![Event::Connected { client_id: connect.client_id }])
            }
            Packet::Publish(publish) => {
                if publish.qos == QoS::ExactlyOnce {
                    return violation(format!(
                        "a PUBLISH on '{}' with QoS 2 (exactly once): QoS 0 and 1 only; publish with QoS 1",
                        publish.topic
                    ));
                }
                if !valid_topic(&publish.topic) || publish.topic.is_empty() {
                    return violation(format!(
                        "a PUBLISH on '{}', which is not a topic name (no `+` or `#`)",
                        publish.topic
                    ));
                }
                if publish.qos == QoS::AtLeastOnce {
                    write(Packet::PubAck(PubAck::new(publish.pkid)), output);
                }
                Ok(vec![Event::Published {
                    topic: publish.topic,
                    payload: publish.payload.to_vec(),
                    retain: publish.retain,
                }])
            }
            // The acknowledgement of a QoS 1 delivery: nothing more to do.
            Packet::PubAck(_) => Ok(Vec::new()),
            Packet::Subscribe(subscribe) => {
                let (mut granted, mut refused, mut codes) = (Vec::new(), Vec::new(), Vec::new());
                for filter in subscribe.filters {
                    if valid_filter(&filter.path) {
                        let qos = if filter.qos == QoS::AtMostOnce { QoS::AtMostOnce } else { QoS::AtLeastOnce };
                        codes.push(SubscribeReasonCode::Success(qos));
                        granted.push((filter.path, qos));
                    } else {
                        codes.push(SubscribeReasonCode::Failure);
                        refused.push(filter.path);
                    }
                }
                write(Packet::SubAck(SubAck::new(subscribe.pkid, codes)), output);
                Ok(vec![Event::Subscribed { granted, refused }])
            }
            Packet::Unsubscribe(unsubscribe) => {
                write(Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)), output);
                Ok(vec![Event::Unsubscribed { filters: unsubscribe.topics }])
            }
            Packet::PingReq => {
                write(Packet::PingResp, output);
                Ok(Vec::new())
            }
            Packet::Disconnect => {
                self.will = None;
                Err((Event::Disconnected { why: "it sent DISCONNECT".into() }, false))
            }
            other @ (Packet::PubRec(_) | Packet::PubRel(_) | Packet::PubComp(_)) => {
                violation(format!("a {}: QoS 2 is not supported; use QoS 0 or 1", name(&other)))
            }
            other => violation(format!("a {}, which only a broker sends", name(&other))),
        }
    }

    /// Writes `delivery` as a PUBLISH.
    fn publish(&mut self, delivery: Delivery, output: &mut BytesMut) {
        let mut publish = Publish::new(delivery.topic, delivery.qos, delivery.payload);
        if delivery.qos == QoS::AtLeastOnce {
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            publish.pkid = self.next_packet_id;
        }
        write(Packet::Publish(publish), output);
    }
}

const MQTT5: &str = "a CONNECT for MQTT 5 (protocol level 5): the host speaks MQTT 3.1.1 to containers; \
configure the client for 3.1.1 (paho-mqtt: protocol=MQTTv311, its default)";

fn write(packet: Packet, output: &mut BytesMut) {
    // Only packets the host makes, all far below the bound.
    packet.write(output, usize::MAX).expect("a packet the host makes is within MQTT's bounds");
}

/// A packet's name as the MQTT specification writes it.
fn name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}

/// A codec error in words, with the packet's first bytes.
fn describe(error: &CodecError, input: &[u8], connected: bool, max_packet_bytes: usize) -> String {
    let start: Vec<String> = input.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let start = start.join(" ");
    match error {
        CodecError::PayloadSizeLimitExceeded(bytes) => format!(
            "a packet of {bytes} bytes, over the {max_packet_bytes} a packet may have (docker.max_frame_bytes); it starts {start}"
        ),
        CodecError::InvalidProtocolLevel(5) => MQTT5.into(),
        CodecError::InvalidProtocolLevel(level) => {
            format!("a CONNECT with protocol level {level}: the host speaks MQTT 3.1.1 (level 4) to containers")
        }
        CodecError::InvalidProtocol => "a CONNECT whose protocol name is not `MQTT` (MQTT 3.1's `MQIsdp`?): \
            the host speaks MQTT 3.1.1 to containers"
            .into(),
        CodecError::InvalidPacketType(kind) => format!("a packet of reserved type {kind}: bytes {start}"),
        _ if !connected && input.windows(5).take(16).any(|w| w == b"MQTT\x05") => MQTT5.into(),
        other => format!("a malformed packet ({other}): bytes {start}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::mqttbytes::v4::{Connect, Subscribe, SubscribeFilter};

    fn encoded(packet: Packet) -> BytesMut {
        let mut bytes = BytesMut::new();
        packet.write(&mut bytes, usize::MAX).unwrap();
        bytes
    }

    fn connected() -> Session {
        let mut session = Session::default();
        let mut out = BytesMut::new();
        let events = session.handle(Packet::Connect(Connect::new("svc")), &mut out).unwrap();
        assert_eq!(events, vec![Event::Connected { client_id: "svc".into() }]);
        assert_eq!(
            Packet::read(&mut out, 1 << 20).unwrap(),
            Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false))
        );
        session
    }

    #[test]
    fn a_qos1_publish_is_acknowledged_and_kept_byte_for_byte() {
        let mut session = connected();
        let mut out = BytesMut::new();
        let mut publish = Publish::new("a/b", QoS::AtLeastOnce, vec![0u8, 255, 10]);
        publish.pkid = 7;
        publish.retain = true;
        let events = session.handle(Packet::Publish(publish), &mut out).unwrap();
        assert_eq!(events, vec![Event::Published { topic: "a/b".into(), payload: vec![0, 255, 10], retain: true }]);
        assert_eq!(Packet::read(&mut out, 1 << 20).unwrap(), Packet::PubAck(PubAck::new(7)));
    }

    #[test]
    fn subscriptions_are_granted_at_most_qos1_and_bad_filters_refused() {
        let mut session = connected();
        let mut out = BytesMut::new();
        let subscribe = Subscribe::new_many([
            SubscribeFilter::new("ml/+/request".into(), QoS::ExactlyOnce),
            SubscribeFilter::new("a/#/b".into(), QoS::AtMostOnce),
        ]);
        let events = session.handle(Packet::Subscribe(subscribe), &mut out).unwrap();
        assert_eq!(
            events,
            vec![Event::Subscribed {
                granted: vec![("ml/+/request".into(), QoS::AtLeastOnce)],
                refused: vec!["a/#/b".into()]
            }]
        );
        let Packet::SubAck(ack) = Packet::read(&mut out, 1 << 20).unwrap() else { panic!("a SUBACK") };
        assert_eq!(
            ack.return_codes,
            vec![SubscribeReasonCode::Success(QoS::AtLeastOnce), SubscribeReasonCode::Failure]
        );
    }

    #[test]
    fn qos2_a_second_connect_and_packets_before_connect_are_violations_naming_the_packet() {
        let refused = |session: &mut Session, packet| match session.handle(packet, &mut BytesMut::new()) {
            Err((Event::Violation { what }, false)) => what,
            other => panic!("expected a violation, got {other:?}"),
        };
        let what = refused(&mut connected(), Packet::Publish(Publish::new("t", QoS::ExactlyOnce, vec![1])));
        assert!(what.contains("PUBLISH on 't' with QoS 2"), "{what}");
        assert!(refused(&mut connected(), Packet::Connect(Connect::new("x"))).contains("second CONNECT"));
        assert!(refused(&mut Session::default(), Packet::PingReq).contains("PINGREQ before CONNECT"));
        assert!(refused(&mut connected(), Packet::PingResp).contains("only a broker sends"));
    }

    #[test]
    fn an_oversized_or_mqtt5_packet_is_named() {
        let mut big = encoded(Packet::Publish(Publish::new("t", QoS::AtMostOnce, vec![0u8; 5000])));
        let e = Packet::read(&mut big, 1024).unwrap_err();
        let what = describe(&e, &big, true, 1024);
        assert!(what.starts_with("a packet of") && what.contains("over the 1024"), "{what}");
        let mut v5 = encoded(Packet::Connect(Connect::new("x")));
        // The protocol level byte of a 3.1.1 CONNECT (after the header and "MQTT").
        let level = v5.windows(4).position(|w| w == b"MQTT").unwrap() + 4;
        v5[level] = 5;
        let what = match Packet::read(&mut v5.clone(), 1 << 20) {
            Ok(Packet::Connect(c)) => {
                assert_ne!(c.protocol, rumqttc::mqttbytes::Protocol::V4);
                MQTT5.to_string()
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => describe(&e, &v5, false, 1 << 20),
        };
        assert!(what.contains("MQTT 5"), "{what}");
    }

    #[test]
    fn a_delivery_at_qos1_gets_a_packet_id() {
        let mut session = connected();
        let mut out = BytesMut::new();
        session.publish(Delivery { topic: "x".into(), payload: b"p".to_vec(), qos: QoS::AtLeastOnce }, &mut out);
        let Packet::Publish(p) = Packet::read(&mut out, 1 << 20).unwrap() else { panic!("a PUBLISH") };
        assert_eq!((p.qos, p.pkid, p.retain, p.payload.as_ref()), (QoS::AtLeastOnce, 1, false, b"p".as_ref()));
    }
}
