//! Containers that speak MQTT (`docker.protocol: mqtt`): unmodified MQTT
//! 3.1.1 clients whose every packet crosses the simulated network.
//!
//! - [`network`]: the run's internal Docker network (no route off the machine).
//! - [`endpoint`]: the host as one container's broker: MQTT packets in,
//!   events out; keep-alive answered on the wall clock.
//! - [`clock`]: the rule that maps a container's wall time onto virtual time.
//! - [`MqttClientGroup`]: every MQTT client container of a run, behind
//!   [`NodeGroup`](crate::runtime::NodeGroup).
//! - [`MqttBrokerGroup`]: broker containers (Mosquitto) as the broker node,
//!   the host a client of each on every sender's behalf ([`broker_client`]).
//! - [`container_node`] and [`group_state`]: what both kinds of node, and
//!   both groups, share.

mod broker_client;
mod broker_group;
mod client_group;
mod clock;
mod container_node;
mod endpoint;
mod group_state;
mod network;

pub use broker_group::{BROKER_PORT, MqttBrokerGroup};
pub use client_group::{MqttClientGroup, RETAIN_PREFIX};
pub(super) use network::remove as remove_network;
