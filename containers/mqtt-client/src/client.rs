//! The modes that speak MQTT through rumqttc's synchronous client, as an
//! ordinary service would: the echoing ones (and their faults after
//! `AFTER` messages) and the ones that publish on their own.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rumqttc::{Client, Connection, ConnectionError, Event, MqttOptions, Outgoing, Packet, SubscribeFilter};

use crate::config::{Config, Mode};
use crate::{log, raw, sleep_forever};

/// Requests rumqttc queues before `publish` blocks.
const QUEUE: usize = 64;
/// Largest packet sent or accepted.
const MAX_PACKET_BYTES: usize = 1 << 20;
/// `flood` logs one publish in this many.
const FLOOD_LOG_EVERY: u64 = 10_000;

fn options(config: &Config) -> MqttOptions {
    let mut options = MqttOptions::new(config.client_id.clone(), config.host.clone(), config.port);
    options
        .set_keep_alive(Duration::from_secs(config.keep_alive_s.into()))
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    options
}

/// A client and its connection (opened at the first poll). TCP_NODELAY,
/// as paho-mqtt sets it: without it, the second of two PUBLISHes written
/// back to back waits for the first's ACK, which a peer's delayed ACK can
/// hold 40 ms (Linux), splitting one answer in two.
fn connect(config: &Config) -> (Client, Connection) {
    let (client, mut connection) = Client::new(options(config), QUEUE);
    let mut network = connection.eventloop.network_options();
    network.set_tcp_nodelay(true);
    connection.eventloop.set_network_options(network);
    (client, connection)
}

/// The next event of `connection`, logged when it is worth a line. An
/// error is logged and waited on for a second (rumqttc reconnects at the
/// next poll).
fn next_event(connection: &mut Connection, quiet: bool) -> Option<Event> {
    match connection.recv() {
        Ok(Ok(event)) => {
            match &event {
                Event::Incoming(Packet::ConnAck(ack)) => log(&format!("connected: {:?}", ack.code)),
                Event::Incoming(Packet::SubAck(ack)) => log(&format!("subscribed: {:?}", ack.return_codes)),
                Event::Incoming(Packet::Disconnect) => log("the broker sent DISCONNECT"),
                // Publishes are logged by whoever made or received them.
                Event::Incoming(Packet::Publish(_)) | Event::Outgoing(Outgoing::Publish(_)) => {}
                Event::Incoming(packet) if !quiet => log(&format!("in: {packet:?}")),
                Event::Outgoing(packet) if !quiet => log(&format!("out: {packet:?}")),
                _ => {}
            }
            Some(event)
        }
        Ok(Err(error)) => {
            log(&format!("connection error: {}; retrying in 1 s", describe(&error)));
            std::thread::sleep(Duration::from_secs(1));
            None
        }
        Err(_) => None,
    }
}

fn describe(error: &ConnectionError) -> String {
    match error {
        ConnectionError::Io(e) => format!("I/O: {e} ({:?})", e.kind()),
        other => other.to_string(),
    }
}

/// A message to answer: its topic, payload and when the reply is due.
type Received = (String, bytes::Bytes, Instant);

/// Publishes the replies on a thread of its own, each when it is due, in
/// the order the messages came (the delay is the same for all).
fn spawn_replier(client: Client, config: &Config) -> mpsc::Sender<Received> {
    let (sender, receiver) = mpsc::channel::<Received>();
    let (prefix, qos, replies) = (config.reply_prefix.clone(), config.qos, config.replies);
    std::thread::spawn(move || {
        for (topic, payload, due) in receiver {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let reply = format!("{prefix}{topic}");
            for _ in 0..replies {
                if let Err(e) = client.publish(reply.as_str(), qos, false, payload.to_vec()) {
                    log(&format!("could not publish on {reply}: {e}"));
                }
            }
            log(&format!("replied on {reply}: {} bytes, {replies} times", payload.len()));
        }
    });
    sender
}

/// What an echoing mode does once it has echoed `AFTER` messages.
#[derive(Debug, PartialEq, Eq)]
enum Stage {
    Echoing,
    /// DISCONNECT asked for; waiting until it has left.
    Disconnecting,
    /// The fault happened (or the mode has none): echoing on.
    Done,
}

/// The echoing modes: subscribe, answer each message, and do the mode's
/// fault after `AFTER` messages.
pub fn serve(config: &Config) -> ExitCode {
    let (client, mut connection) = connect(config);
    if config.mode == Mode::Retain {
        match client.publish(config.topic.as_str(), config.qos, true, config.payload.clone()) {
            Ok(()) => log(&format!("publishing {:?} retained on {}", config.payload, config.topic)),
            Err(e) => log(&format!("could not publish retained on {}: {e}", config.topic)),
        }
    }
    let replier = spawn_replier(client.clone(), config);
    let has_fault = matches!(config.mode, Mode::ConnectTwice | Mode::DisconnectAfter | Mode::DropAfter);
    let mut stage = if has_fault { Stage::Echoing } else { Stage::Done };
    let (mut connected, mut received, mut published) = (false, 0u64, 0u64);
    loop {
        let Some(event) = next_event(&mut connection, false) else { continue };
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                connected = true;
                // Subscriptions are made again after each reconnect: the session is clean.
                let filters = config.subscribe.iter().map(|f| SubscribeFilter::new(f.clone(), config.qos));
                match client.subscribe_many(filters) {
                    Ok(()) => log(&format!("subscribing to {:?}", config.subscribe)),
                    Err(e) => log(&format!("could not subscribe to {:?}: {e}", config.subscribe)),
                }
            }
            Event::Incoming(Packet::Publish(publish)) => {
                let retained = if publish.retain { " (retained)" } else { "" };
                if publish.topic.starts_with(&config.reply_prefix) {
                    log(&format!("not echoing {} (a reply's topic){retained}", publish.topic));
                    continue;
                }
                received += 1;
                log(&format!("received #{received} on {}: {} bytes{retained}", publish.topic, publish.payload.len()));
                let _ = replier.send((publish.topic, publish.payload, Instant::now() + config.delay));
            }
            Event::Outgoing(Outgoing::Publish(_)) => published += 1,
            Event::Outgoing(Outgoing::Disconnect) if stage == Stage::Disconnecting => {
                log("sent DISCONNECT; staying alive without a connection");
                drop(connection);
                sleep_forever();
            }
            _ => {}
        }
        let echoed = received >= config.after && published >= config.after * u64::from(config.replies);
        if stage == Stage::Echoing && connected && echoed {
            stage = Stage::Done;
            match config.mode {
                Mode::ConnectTwice => {
                    let config = config.clone();
                    std::thread::spawn(move || raw::second_connection(&config));
                }
                Mode::DisconnectAfter => {
                    log(&format!("echoed {received} messages; sending DISCONNECT"));
                    match client.disconnect() {
                        Ok(()) => stage = Stage::Disconnecting,
                        Err(e) => log(&format!("could not disconnect: {e}")),
                    }
                }
                Mode::DropAfter => {
                    log(&format!("echoed {received} messages; closing the socket without DISCONNECT"));
                    drop(connection);
                    sleep_forever();
                }
                _ => {}
            }
        }
    }
}

/// `periodic`, `qos2` and `flood`: publish on `TOPIC` on their own, a
/// counter as payload, subscribed to nothing.
pub fn publish_on_its_own(config: &Config) -> ExitCode {
    let (client, mut connection) = connect(config);
    let flood = config.mode == Mode::Flood;
    let publisher = client.clone();
    let (topic, qos, period, count) = (config.topic.clone(), config.qos, config.period, config.count);
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut n = 0u64;
        while count.is_none_or(|count| n < count) {
            n += 1;
            if let Err(e) = publisher.publish(topic.as_str(), qos, false, n.to_string()) {
                log(&format!("could not publish #{n} on {topic}: {e}"));
            }
            if !flood {
                log(&format!("publishing #{n} on {topic} at {qos:?}"));
                std::thread::sleep(period);
            } else if n == 1 || n.is_multiple_of(FLOOD_LOG_EVERY) {
                log(&format!("flooding: #{n} on {topic} queued after {} ms", start.elapsed().as_millis()));
            }
        }
        log(&format!("queued all {n} messages in {} ms", start.elapsed().as_millis()));
    });
    // `client` stays: with every client gone, rumqttc would stop.
    let _client = client;
    let mut published = 0u64;
    loop {
        if let Some(Event::Outgoing(Outgoing::Publish(_))) = next_event(&mut connection, flood) {
            published += 1;
            if count == Some(published) {
                log(&format!("all {published} messages sent"));
            }
        }
    }
}
