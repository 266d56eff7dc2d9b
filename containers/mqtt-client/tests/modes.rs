//! The client's modes against a peer this test plays: a TCP listener on
//! 127.0.0.1 that reads and writes packets with rumqttc's 3.1.1 codec (the
//! one the host's endpoint uses), so each mode's bytes on the wire are
//! checked without a broker or Docker. Also: SIGTERM ends it with 0, a bad
//! setting with 2. Every read has a deadline: a mode that sends nothing
//! fails its test instead of hanging it.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, ConnectReturnCode, Packet, Publish, SubAck, SubscribeReasonCode};
use rumqttc::mqttbytes::{Error, QoS, check};

/// How long a read waits for the client: generous, a hang guard only.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The client process, stopped (SIGKILL) if a test fails before `stop`.
struct Client(Option<Child>);

impl Client {
    fn start(listener: &TcpListener, vars: &[(&str, &str)]) -> Client {
        let port = listener.local_addr().unwrap().port().to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_mqtt-client"))
            .env_clear()
            .env("MQTT_BROKER_HOST", "127.0.0.1")
            .env("MQTT_BROKER_PORT", port)
            .env("CLIENT_ID", "svc")
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Client(Some(child))
    }

    /// Sends SIGTERM; the exit code and stdout.
    fn stop(mut self) -> (Option<i32>, String) {
        let mut child = self.0.take().unwrap();
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let output = wait_with_deadline(&mut child);
        (output.0, output.1)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_with_deadline(child: &mut Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + READ_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the client did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    (child.wait().unwrap().code(), stdout)
}

/// One connection from the client, as the broker's side sees it.
struct Peer {
    stream: TcpStream,
    buffer: BytesMut,
}

impl Peer {
    fn accept(listener: &TcpListener) -> Peer {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + READ_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("no connection: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Peer { stream, buffer: BytesMut::new() }
    }

    /// Reads more bytes; false at the end of the stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).expect("the client sends within the deadline");
        self.buffer.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next packet; None when the client closed the connection.
    fn packet(&mut self) -> Option<Result<Packet, Error>> {
        loop {
            if !self.buffer.is_empty() {
                match Packet::read(&mut self.buffer, 1 << 20) {
                    Err(Error::InsufficientBytes(_)) => {}
                    other => return Some(other),
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn expect(&mut self) -> Packet {
        self.packet().expect("a packet, not the end").unwrap_or_else(|e| panic!("not a packet: {e}"))
    }

    fn write(&mut self, packet: Packet) {
        let mut bytes = BytesMut::new();
        packet.write(&mut bytes, usize::MAX).unwrap();
        self.stream.write_all(&bytes).unwrap();
    }

    /// Answers the CONNECT (which must name `svc`) with CONNACK.
    fn handshake(&mut self) {
        match self.expect() {
            Packet::Connect(c) => assert_eq!(c.client_id, "svc"),
            other => panic!("{other:?}"),
        }
        self.write(Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)));
    }

    /// Answers the SUBSCRIBE; its filters.
    fn subscription(&mut self) -> Vec<String> {
        match self.expect() {
            Packet::Subscribe(s) => {
                let codes = s.filters.iter().map(|f| SubscribeReasonCode::Success(f.qos)).collect();
                self.write(Packet::SubAck(SubAck::new(s.pkid, codes)));
                s.filters.into_iter().map(|f| f.path).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    fn publish(&mut self, topic: &str, payload: &str) {
        self.write(Packet::Publish(Publish::new(topic, QoS::AtMostOnce, payload)));
    }

    fn expect_publish(&mut self) -> Publish {
        match self.expect() {
            Packet::Publish(p) => p,
            other => panic!("{other:?}"),
        }
    }
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn stopped_cleanly(client: Client) -> String {
    let (code, log) = client.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");
    log
}

#[test]
fn echo_answers_each_message_on_the_reply_topic_and_sigterm_ends_it_with_0() {
    let listener = listener();
    let client = Client::start(&listener, &[("REPLIES", "2")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    assert_eq!(peer.subscription(), vec!["in/#"]);
    peer.publish("in/s1", r#"{"t_us":1000000}"#);
    for _ in 0..2 {
        let reply = peer.expect_publish();
        assert_eq!((reply.topic.as_str(), &reply.payload[..]), ("reply/in/s1", &br#"{"t_us":1000000}"#[..]));
        assert_eq!((reply.qos, reply.retain), (QoS::AtMostOnce, false));
    }
    // Its own replies' topic is never echoed.
    peer.publish("reply/in/s1", "x");
    peer.publish("in/s2", "y");
    assert_eq!(peer.expect_publish().topic, "reply/in/s2");
    let log = stopped_cleanly(client);
    assert!(log.contains("received #1 on in/s1: 16 bytes"), "{log}");
    assert!(log.contains("not echoing reply/in/s1"), "{log}");
}

#[test]
fn echo_at_qos_1_subscribes_and_answers_at_qos_1() {
    let listener = listener();
    let client = Client::start(&listener, &[("QOS", "1"), ("SUBSCRIBE", "a/+,b/#")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    assert_eq!(peer.subscription(), vec!["a/+", "b/#"]);
    peer.publish("a/1", "p");
    let reply = peer.expect_publish();
    assert_eq!((reply.topic.as_str(), reply.qos), ("reply/a/1", QoS::AtLeastOnce));
    stopped_cleanly(client);
}

#[test]
fn late_answers_after_its_delay() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "late"), ("DELAY_MS", "300")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    peer.subscription();
    let sent = Instant::now();
    peer.publish("in/s1", "p");
    assert_eq!(peer.expect_publish().topic, "reply/in/s1");
    assert!(sent.elapsed() >= Duration::from_millis(300), "{:?}", sent.elapsed());
    stopped_cleanly(client);
}

#[test]
fn subscribe_all_subscribes_to_everything() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "subscribe-all")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    assert_eq!(peer.subscription(), vec!["#"]);
    peer.publish("any/topic", "p");
    assert_eq!(peer.expect_publish().topic, "reply/any/topic");
    stopped_cleanly(client);
}

#[test]
fn retain_publishes_its_retained_message_first_then_echoes() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "retain"), ("TOPIC", "state/a"), ("PAYLOAD", "on")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    let retained = peer.expect_publish();
    assert_eq!((retained.topic.as_str(), &retained.payload[..], retained.retain), ("state/a", &b"on"[..], true));
    peer.subscription();
    peer.publish("in/x", "p");
    assert!(!peer.expect_publish().retain);
    stopped_cleanly(client);
}

#[test]
fn periodic_flood_and_qos2_publish_a_counter_on_their_own() {
    for (vars, count, qos) in [
        (vec![("MODE", "periodic"), ("PERIOD_MS", "20"), ("COUNT", "3")], 3, QoS::AtMostOnce),
        (vec![("MODE", "flood"), ("COUNT", "2000"), ("TOPIC", "f")], 2000, QoS::AtMostOnce),
        (vec![("MODE", "qos2")], 1, QoS::ExactlyOnce),
    ] {
        let listener = listener();
        let client = Client::start(&listener, &vars);
        let mut peer = Peer::accept(&listener);
        peer.handshake();
        for n in 1..=count {
            let publish = peer.expect_publish();
            assert_eq!((&publish.payload[..], publish.qos), (n.to_string().as_bytes(), qos), "{vars:?}");
        }
        stopped_cleanly(client);
    }
}

#[test]
fn disconnect_after_sends_disconnect_then_stays_alive() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "disconnect-after"), ("AFTER", "2")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    peer.subscription();
    for topic in ["in/1", "in/2"] {
        peer.publish(topic, "p");
        peer.expect_publish();
    }
    assert_eq!(peer.expect(), Packet::Disconnect);
    assert!(peer.packet().is_none(), "the connection ends after DISCONNECT");
    let log = stopped_cleanly(client);
    assert!(log.contains("sent DISCONNECT; staying alive without a connection"), "{log}");
}

#[test]
fn drop_after_closes_the_socket_without_disconnect() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "drop-after")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    peer.subscription();
    peer.publish("in/1", "p");
    peer.expect_publish();
    assert!(peer.packet().is_none(), "the connection ends with no DISCONNECT");
    stopped_cleanly(client);
}

#[test]
fn connect_twice_opens_a_second_connection_with_the_same_id() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "connect-twice")]);
    let mut first = Peer::accept(&listener);
    first.handshake();
    let mut second = Peer::accept(&listener);
    second.handshake();
    // The first still works.
    first.subscription();
    first.publish("in/1", "p");
    assert_eq!(first.expect_publish().topic, "reply/in/1");
    stopped_cleanly(client);
}

#[test]
fn never_connect_never_connects() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "never-connect")]);
    std::thread::sleep(Duration::from_millis(500));
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().map(|_| ()).unwrap_err().kind(), ErrorKind::WouldBlock);
    stopped_cleanly(client);
}

#[test]
fn malformed_writes_a_reserved_packet_type_after_connack() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "malformed")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    assert!(matches!(peer.packet(), Some(Err(Error::InvalidPacketType(15)))));
    drop(peer);
    let log = stopped_cleanly(client);
    assert!(log.contains("the broker closed the connection"), "{log}");
}

#[test]
fn oversized_announces_its_size_in_the_fixed_header() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "oversized"), ("SIZE", "5000000")]);
    let mut peer = Peer::accept(&listener);
    peer.handshake();
    while peer.buffer.len() < 2 {
        assert!(peer.fill());
    }
    // Refused from its header, as a host with a 1 MiB bound does.
    assert!(matches!(check(peer.buffer.iter(), 1 << 20), Err(Error::PayloadSizeLimitExceeded(5_000_000))));
    // Read on, it is a whole PUBLISH of that size.
    let mut total = peer.buffer.len();
    while total < 5_000_000 + 5 {
        peer.buffer.clear();
        assert!(peer.fill(), "ended after {total} bytes");
        total += peer.buffer.len();
    }
    assert_eq!(total, 1 + 4 + 5_000_000);
    stopped_cleanly(client);
}

#[test]
fn mqtt5_sends_a_connect_of_protocol_level_5() {
    let listener = listener();
    let client = Client::start(&listener, &[("MODE", "mqtt5")]);
    let mut peer = Peer::accept(&listener);
    while peer.buffer.len() < 9 {
        assert!(peer.fill());
    }
    assert_eq!(&peer.buffer[2..9], b"\0\x04MQTT\x05");
    stopped_cleanly(client);
}

#[test]
fn a_bad_setting_ends_it_with_2_naming_the_variable() {
    let listener = listener();
    let mut client = Client::start(&listener, &[("QOS", "2")]);
    let mut child = client.0.take().unwrap();
    let (code, _) = wait_with_deadline(&mut child);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(code, Some(2));
    assert_eq!(stderr, "mqtt-client: QOS=\"2\": a whole number in 0 ..= 1\n");
}
