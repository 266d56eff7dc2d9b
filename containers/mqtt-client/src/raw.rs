//! The modes that write to a plain TCP socket: what no client library
//! would send. Where the bytes are a packet, rumqttc's codec builds them;
//! only the deliberately wrong parts are written by hand.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{Connect, Packet};

use crate::config::Config;
use crate::{log, sleep_forever};

/// The malformed mode's bytes: packet type 15 (reserved in MQTT 3.1.1;
/// AUTH in MQTT 5), remaining length 0.
pub const MALFORMED: [u8; 2] = [0xF0, 0x00];
/// Largest answer the raw modes read as a packet.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// How long opening a connection may take (rumqttc's own default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The oversized PUBLISH's payload is written this many bytes at a time.
const CHUNK_BYTES: usize = 64 << 10;

/// Opens a connection and sends `connect` (bytes of a CONNECT packet);
/// logs the broker's answer. None (logged) when the connection fails.
fn open(config: &Config, connect: &[u8], what: &str) -> Option<TcpStream> {
    let address = (config.host.as_str(), config.port).to_socket_addrs().map(|mut all| all.next());
    let connected = match address {
        Ok(Some(address)) => TcpStream::connect_timeout(&address, CONNECT_TIMEOUT),
        Ok(None) => Err(std::io::Error::other("the name has no address")),
        Err(e) => Err(e),
    };
    let mut stream = match connected {
        Ok(stream) => stream,
        Err(e) => {
            log(&format!("could not connect to {}:{}: {e}", config.host, config.port));
            return None;
        }
    };
    if let Err(e) = stream.write_all(connect) {
        log(&format!("could not send {what}: {e}"));
        return None;
    }
    log(&format!("sent {what} as {:?}", config.client_id));
    answer(&mut stream, what).map(|_| stream)
}

/// The bytes of an MQTT 3.1.1 CONNECT with the client's id and keep-alive.
fn connect_v4(config: &Config) -> Vec<u8> {
    let mut connect = Connect::new(config.client_id.clone());
    connect.keep_alive = config.keep_alive_s;
    let mut buffer = BytesMut::new();
    connect.write(&mut buffer).expect("a CONNECT with a short id fits");
    buffer.to_vec()
}

/// Reads the broker's next packet after `after`, and logs it. None (logged)
/// when the connection ends or the bytes are not an MQTT 3.1.1 packet.
fn answer(stream: &mut TcpStream, after: &str) -> Option<Packet> {
    let mut buffer = BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        if !buffer.is_empty() {
            match Packet::read(&mut buffer, MAX_ANSWER_BYTES) {
                Ok(packet) => {
                    log(&format!("after {after}, the broker sent {packet:?}"));
                    return Some(packet);
                }
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => {
                    let head: Vec<String> = buffer.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    log(&format!("after {after}, the broker sent no MQTT 3.1.1 packet ({e}): {}", head.join(" ")));
                    return None;
                }
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                log(&format!("after {after}, the broker closed the connection"));
                return None;
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => {
                log(&format!("after {after}, reading failed: {e} ({:?})", e.kind()));
                return None;
            }
        }
    }
}

/// Logs what the broker sends until the connection ends, then sleeps.
fn hold(mut stream: TcpStream, after: &str) -> ! {
    while answer(&mut stream, after).is_some() {}
    drop(stream);
    log("staying alive without a connection");
    sleep_forever()
}

/// `connect-twice`'s second connection: the same client id while the
/// first is open. Kept open until the broker ends it.
pub fn second_connection(config: &Config) {
    log(&format!("opening a second connection as {:?}", config.client_id));
    if let Some(mut stream) = open(config, &connect_v4(config), "a second CONNECT") {
        while answer(&mut stream, "the second CONNECT").is_some() {}
    }
}

/// `malformed`: after CONNACK, a packet of a reserved type.
pub fn malformed(config: &Config) -> ExitCode {
    let Some(mut stream) = open(config, &connect_v4(config), "CONNECT") else { sleep_forever() };
    match stream.write_all(&MALFORMED) {
        Ok(()) => log("wrote f0 00: packet type 15, reserved in MQTT 3.1.1"),
        Err(e) => log(&format!("could not write the malformed packet: {e}")),
    }
    hold(stream, "the malformed packet")
}

/// The fixed header and topic of a QoS 0 PUBLISH of remaining length
/// `size` on `topic`: the payload (`size` - 2 - topic bytes) follows.
pub fn publish_head(topic: &str, size: usize) -> Vec<u8> {
    let mut head = vec![0x30];
    // MQTT's variable-length integer: 7 bits a byte, low first, high bit = more.
    let mut rest = size;
    loop {
        let byte = (rest % 128) as u8;
        rest /= 128;
        head.push(if rest > 0 { byte | 0x80 } else { byte });
        if rest == 0 {
            break;
        }
    }
    head.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    head.extend_from_slice(topic.as_bytes());
    head
}

/// `oversized`: after CONNACK, a PUBLISH of remaining length `SIZE`,
/// its payload streamed (never held in memory).
pub fn oversized(config: &Config) -> ExitCode {
    let Some(mut stream) = open(config, &connect_v4(config), "CONNECT") else { sleep_forever() };
    let head = publish_head(&config.topic, config.size);
    let payload = config.size - 2 - config.topic.len();
    log(&format!(
        "writing a PUBLISH on {} of remaining length {} ({payload} payload bytes)",
        config.topic, config.size
    ));
    let zeros = vec![0u8; CHUNK_BYTES];
    let mut written = 0usize;
    let result = stream.write_all(&head).and_then(|()| {
        while written < payload {
            let n = CHUNK_BYTES.min(payload - written);
            stream.write_all(&zeros[..n])?;
            written += n;
        }
        Ok(())
    });
    match result {
        Ok(()) => log(&format!("wrote the whole PUBLISH: {} bytes", head.len() + payload)),
        Err(e) => log(&format!("writing stopped after {written} payload bytes: {e} ({:?})", e.kind())),
    }
    hold(stream, "the oversized PUBLISH")
}

/// The bytes of an MQTT 5 CONNECT (protocol level 5) with the client's id.
fn connect_v5(config: &Config) -> Vec<u8> {
    use rumqttc::v5::mqttbytes::v5::Connect;
    let connect = Connect {
        keep_alive: config.keep_alive_s,
        client_id: config.client_id.clone(),
        clean_start: true,
        properties: None,
    };
    let mut buffer = BytesMut::new();
    connect.write(&None, &None, &mut buffer).expect("a CONNECT with a short id fits");
    buffer.to_vec()
}

/// `mqtt5`: a CONNECT of protocol level 5, then whatever the broker says.
pub fn mqtt5(config: &Config) -> ExitCode {
    let Some(stream) = open(config, &connect_v5(config), "an MQTT 5 CONNECT") else { sleep_forever() };
    hold(stream, "the MQTT 5 CONNECT")
}

#[cfg(test)]
mod tests {
    use rumqttc::mqttbytes::{Error, Protocol, check};

    use super::*;

    #[test]
    fn the_oversized_head_announces_its_remaining_length() {
        for size in [20, 127, 128, 16_383, 16_384, 64 << 20, crate::config::MAX_REMAINING_LENGTH] {
            let head = publish_head("out/x", size);
            // rumqttc refuses it by its announced length, before any payload...
            assert!(matches!(check(head.iter(), 16), Err(Error::PayloadSizeLimitExceeded(n)) if n == size), "{size}");
            // ...and, allowed, waits for exactly the payload still to come
            // (the remaining length less the topic's 2 + 5 bytes).
            match check(head.iter(), usize::MAX) {
                Err(Error::InsufficientBytes(n)) => assert_eq!(n, size - 7, "{size}"),
                other => panic!("{size}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_small_oversized_publish_is_a_publish_rumqttc_reads() {
        let mut bytes = BytesMut::from(&publish_head("t", 10)[..]);
        bytes.extend_from_slice(&[0; 7]);
        match Packet::read(&mut bytes, 1024) {
            Ok(Packet::Publish(p)) => assert_eq!((p.topic.as_str(), p.payload.len()), ("t", 7)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_malformed_bytes_are_no_mqtt_3_1_1_packet() {
        let mut bytes = BytesMut::from(&MALFORMED[..]);
        assert!(matches!(Packet::read(&mut bytes, 1024), Err(Error::InvalidPacketType(15))));
    }

    #[test]
    fn the_connects_are_3_1_1_and_5() {
        let config =
            crate::config::Config::from_lookup(|name| (name == "MQTT_BROKER_HOST").then(|| "h".to_string())).unwrap();
        let v4 = connect_v4(&config);
        // Fixed header, remaining length, "MQTT", then the protocol level.
        assert_eq!(&v4[2..9], b"\0\x04MQTT\x04");
        assert!(
            matches!(Packet::read(&mut BytesMut::from(&v4[..]), 1024), Ok(Packet::Connect(c)) if c.client_id == "mqtt-client")
        );
        let v5 = connect_v5(&config);
        assert_eq!(&v5[2..9], b"\0\x04MQTT\x05");
        // rumqttc's 3.1.1 reader does not refuse it: it reads a Connect
        // marked V5 whose id is lost (the properties' length is read as the
        // id's). A host must check `protocol` itself.
        match Packet::read(&mut BytesMut::from(&v5[..]), 1024) {
            Ok(Packet::Connect(c)) => assert_eq!((c.protocol, c.client_id.as_str()), (Protocol::V5, "")),
            other => panic!("{other:?}"),
        }
    }
}
