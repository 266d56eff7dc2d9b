//! [`BrokerClient`]: the host as an MQTT client of a broker container
//! (`type: broker` with `protocol: mqtt`), on one node's behalf: each node
//! that publishes or subscribes through the broker gets a connection of its
//! own, under its own id, so the broker sees the clients the scenario has.
//! Subscriptions are made at QoS 0 (the broker then wants no
//! acknowledgements back), and keep-alive is off: the host's connections
//! idle for as long as the simulation needs.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use rumqttc::mqttbytes::Error as CodecError;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{ConnectReturnCode, Packet, Publish, Subscribe, SubscribeReasonCode, Unsubscribe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::super::engine::DockerEngine;

/// A PUBLISH the broker sent to one of the host's clients.
#[derive(Debug, Clone)]
pub struct Received {
    /// The node the client stands for.
    pub node: String,
    pub topic: String,
    pub payload: Vec<u8>,
    pub at: Instant,
}

/// Most bytes of one packet the host reads from the broker.
const MAX_PACKET_BYTES: usize = 256 << 20;

pub struct BrokerClient {
    writer: OwnedWriteHalf,
    /// Packet ids the broker acknowledged (SUBACK, UNSUBACK), with whether it refused.
    acks: mpsc::UnboundedReceiver<(u16, bool)>,
    next_packet_id: u16,
    task: tokio::task::AbortHandle,
}

impl Drop for BrokerClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BrokerClient {
    /// Connects to `address` as `node`, until `deadline`; what the broker
    /// sends it goes to `received`.
    pub async fn connect(
        engine: &DockerEngine,
        address: SocketAddr,
        node: &str,
        received: mpsc::Sender<Received>,
        deadline: tokio::time::Instant,
    ) -> Result<BrokerClient, String> {
        let stream = tokio::time::timeout_at(deadline, TcpStream::connect(address))
            .await
            .map_err(|_| format!("no TCP connection to the broker at {address} in time"))?
            .map_err(|e| format!("cannot connect to the broker at {address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let mut connect = rumqttc::mqttbytes::v4::Connect::new(node);
        connect.keep_alive = 0;
        write(&mut writer, Packet::Connect(connect)).await.map_err(|e| format!("cannot write CONNECT: {e}"))?;
        let mut input = BytesMut::with_capacity(4096);
        let connack = tokio::time::timeout_at(deadline, async {
            loop {
                match Packet::read(&mut input, MAX_PACKET_BYTES) {
                    Ok(packet) => return Ok(packet),
                    Err(CodecError::InsufficientBytes(_)) => {}
                    Err(e) => return Err(format!("the broker's answer to CONNECT is malformed: {e}")),
                }
                match reader.read_buf(&mut input).await {
                    Ok(0) => return Err("the broker closed the connection after CONNECT".to_string()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("the connection broke after CONNECT: {e}")),
                }
            }
        })
        .await
        .map_err(|_| format!("no CONNACK from the broker at {address} in time"))??;
        match connack {
            Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => {}
            Packet::ConnAck(ack) => return Err(format!("the broker refused client '{node}': {:?}", ack.code)),
            other => return Err(format!("the broker answered CONNECT with {other:?}")),
        }
        let (acks_tx, acks) = mpsc::unbounded_channel();
        let node = node.to_string();
        let task = engine.spawn(async move {
            loop {
                loop {
                    match Packet::read(&mut input, MAX_PACKET_BYTES) {
                        Ok(Packet::Publish(p)) => {
                            let at = Instant::now();
                            let r = Received { node: node.clone(), topic: p.topic, payload: p.payload.to_vec(), at };
                            if received.send(r).await.is_err() {
                                return;
                            }
                        }
                        Ok(Packet::SubAck(ack)) => {
                            let refused = ack.return_codes.contains(&SubscribeReasonCode::Failure);
                            let _ = acks_tx.send((ack.pkid, refused));
                        }
                        Ok(Packet::UnsubAck(ack)) => {
                            let _ = acks_tx.send((ack.pkid, false));
                        }
                        Ok(_) => {}
                        Err(CodecError::InsufficientBytes(_)) => break,
                        Err(_) => return,
                    }
                }
                match reader.read_buf(&mut input).await {
                    Ok(0) | Err(_) => return,
                    // Acknowledged at once, as the endpoint does: a broker
                    // that holds its next PUBLISH until its last is
                    // acknowledged (Nagle; Mosquitto's default) would wait
                    // out the host's delayed ACK.
                    Ok(_) => {
                        let _ = rustix::net::sockopt::set_tcp_quickack(reader.as_ref(), true);
                    }
                }
            }
        });
        Ok(BrokerClient { writer, acks, next_packet_id: 0, task })
    }

    pub async fn publish(&mut self, topic: &str, payload: &[u8], retain: bool) -> Result<(), String> {
        let mut publish = Publish::new(topic, QoS::AtMostOnce, payload.to_vec());
        publish.retain = retain;
        write(&mut self.writer, Packet::Publish(publish)).await.map_err(|e| format!("cannot write PUBLISH: {e}"))
    }

    /// Subscribes to `filter` and waits for the SUBACK; `Ok(false)`: refused.
    pub async fn subscribe(&mut self, filter: &str, deadline: tokio::time::Instant) -> Result<bool, String> {
        let mut subscribe = Subscribe::new(filter, QoS::AtMostOnce);
        subscribe.pkid = self.packet_id();
        self.acknowledged(Packet::Subscribe(subscribe), deadline).await.map(|refused| !refused)
    }

    pub async fn unsubscribe(&mut self, filter: &str, deadline: tokio::time::Instant) -> Result<(), String> {
        let mut unsubscribe = Unsubscribe::new(filter);
        unsubscribe.pkid = self.packet_id();
        self.acknowledged(Packet::Unsubscribe(unsubscribe), deadline).await.map(|_| ())
    }

    fn packet_id(&mut self) -> u16 {
        self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
        self.next_packet_id
    }

    /// Writes `packet` and waits for its acknowledgement: whether it was refused.
    async fn acknowledged(&mut self, packet: Packet, deadline: tokio::time::Instant) -> Result<bool, String> {
        let id = self.next_packet_id;
        write(&mut self.writer, packet).await.map_err(|e| format!("cannot write to the broker: {e}"))?;
        loop {
            match tokio::time::timeout_at(deadline, self.acks.recv()).await {
                Ok(Some((acked, refused))) if acked == id => return Ok(refused),
                Ok(Some(_)) => {}
                Ok(None) => return Err("the broker closed the connection".into()),
                Err(_) => return Err("no acknowledgement from the broker in time".into()),
            }
        }
    }
}

async fn write(writer: &mut OwnedWriteHalf, packet: Packet) -> std::io::Result<()> {
    let mut bytes = BytesMut::new();
    packet.write(&mut bytes, usize::MAX).map_err(std::io::Error::other)?;
    writer.write_all(&bytes).await
}
