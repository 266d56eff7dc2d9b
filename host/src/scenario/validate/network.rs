//! `network:`: the model, the default link and the links, each end a node.

use std::collections::BTreeSet;

use super::Checker;
use crate::scenario::manifest::{NetworkSection, Scenario};
use crate::scenario::resolved::{LINK_QUEUE_BYTES, NetworkModel};
use crate::scenario::suggest;

impl Checker<'_> {
    pub(super) fn network(&mut self, scenario: &Scenario) {
        let Some(net) = &scenario.network else { return };
        let model = match net.model.as_deref() {
            // As in xEdgeSim, whose files run verbatim.
            None => Some(NetworkModel::Direct),
            Some(name) => {
                let model = NetworkModel::from_name(name);
                if model.is_none() {
                    self.error(
                        "network.model",
                        None,
                        format!("network model must be one of {}; found '{name}'", NetworkModel::NAMES.join(", ")),
                        suggest::did_you_mean(name, NetworkModel::NAMES),
                    );
                }
                model
            }
        };
        self.link_values(
            "network",
            "default_",
            net.default_latency_us,
            net.default_jitter_us,
            net.default_loss_rate,
            net.default_bandwidth_bps,
            None,
        );
        self.queue_bytes(
            "network",
            "default_",
            net.default_queue_bytes,
            net.default_bandwidth_bps.is_some(),
            "add `default_bandwidth_bps` (a buffer fills at its link's bandwidth), or remove `default_queue_bytes`",
        );
        let node_ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        for (i, link) in net.links.iter().enumerate() {
            let path = format!("network.links[{i}]");
            for (end, id) in [("src", &link.src), ("dst", &link.dst)] {
                if !node_ids.contains(&id.as_str()) {
                    self.error(
                        &format!("{path}.{end}"),
                        None,
                        format!("link {end} '{id}' is not a node in this scenario"),
                        suggest::closest(id, &node_ids).map_or_else(
                            || format!("nodes are: {}", node_ids.join(", ")),
                            |c| format!("did you mean '{c}'?"),
                        ),
                    );
                }
            }
            if link.src == link.dst {
                self.error(
                    &format!("{path}.dst"),
                    None,
                    format!("link from '{}' to itself", link.src),
                    "a node's messages to itself are delivered at once; remove this link",
                );
            } else if !seen.insert((&link.src, &link.dst)) {
                self.error(
                    &format!("{path}.dst"),
                    None,
                    format!("a second link from '{}' to '{}'", link.src, link.dst),
                    "links are directed and each pair has at most one: merge the two entries",
                );
            }
            self.link_values(&path, "", link.latency_us, link.jitter_us, link.loss_rate, link.bandwidth_bps, None);
            self.queue_bytes(
                &path,
                "",
                link.queue_bytes,
                link.bandwidth_bps.is_some() || net.default_bandwidth_bps.is_some(),
                "add `bandwidth_bps` to this link or `default_bandwidth_bps` to `network:` (a buffer fills at its link's bandwidth), or remove `queue_bytes`",
            );
        }
        if model == Some(NetworkModel::Direct) {
            self.direct_warnings(net);
        }
    }

    /// Warns about each latency setting that `model: direct` overrides.
    fn direct_warnings(&mut self, net: &NetworkSection) {
        let defaults = [
            ("default_latency_us", net.default_latency_us.is_some_and(|v| v != 0)),
            ("default_jitter_us", net.default_jitter_us.is_some_and(|v| v != 0)),
            ("default_loss_rate", net.default_loss_rate.is_some_and(|v| v != 0.0)),
            ("default_bandwidth_bps", net.default_bandwidth_bps.is_some()),
            ("default_queue_bytes", net.default_queue_bytes.is_some()),
        ];
        for (key, set) in defaults {
            if set {
                let why = if net.model.is_none() {
                    "`model: direct` (the default, as in xEdgeSim)"
                } else {
                    "`model: direct`"
                };
                self.warning(
                    &format!("network.{key}"),
                    format!("network.{key} has no effect with {why}"),
                    "direct links have zero latency and no loss; add `model: latency` to apply it",
                );
            }
        }
        for i in 0..net.links.len() {
            let l = &net.links[i];
            if l.latency_us.is_some()
                || l.jitter_us.is_some()
                || l.loss_rate.is_some()
                || l.bandwidth_bps.is_some()
                || l.queue_bytes.is_some()
            {
                self.warning(
                    &format!("network.links[{i}]"),
                    "link settings have no effect with `model: direct`",
                    "use `model: latency` to apply them",
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one call per link-shaped section")]
    fn link_values(
        &mut self,
        path: &str,
        prefix: &str,
        latency: Option<i64>,
        jitter: Option<i64>,
        loss: Option<f64>,
        bandwidth: Option<i64>,
        node: Option<&str>,
    ) {
        for (key, value) in [("latency_us", latency), ("jitter_us", jitter)] {
            if let Some(v) = value
                && v < 0
            {
                self.error(
                    &format!("{path}.{prefix}{key}"),
                    node,
                    format!("{prefix}{key} must not be negative; found {v}"),
                    "use 0 or a positive number of microseconds",
                );
            }
        }
        if let Some(v) = loss
            && !(0.0..=1.0).contains(&v)
        {
            self.error(
                &format!("{path}.{prefix}loss_rate"),
                node,
                format!("{prefix}loss_rate must be between 0 and 1; found {v}"),
                "a loss rate is a probability: 0.01 loses one message in a hundred",
            );
        }
        if let Some(v) = bandwidth
            && v <= 0
        {
            self.error(
                &format!("{path}.{prefix}bandwidth_bps"),
                node,
                format!("{prefix}bandwidth_bps must be greater than 0; found {v}"),
                "omit it for unlimited bandwidth",
            );
        }
    }

    /// Checks a link buffer `{prefix}queue_bytes` at `path`: in range, and
    /// on links with a bandwidth (`has_bandwidth`), since only those queue;
    /// `fix` says how to give one.
    fn queue_bytes(&mut self, path: &str, prefix: &str, queue: Option<i64>, has_bandwidth: bool, fix: &str) {
        let Some(v) = queue else { return };
        let key = format!("{path}.{prefix}queue_bytes");
        if !u64::try_from(v).is_ok_and(|v| LINK_QUEUE_BYTES.contains(&v)) {
            self.error(
                &key,
                None,
                format!(
                    "{prefix}queue_bytes is {v}; allowed {} ..= {}",
                    LINK_QUEUE_BYTES.start(),
                    LINK_QUEUE_BYTES.end()
                ),
                "the link's buffer in bytes; omit it for an unbounded one",
            );
        }
        if !has_bandwidth {
            self.error(
                &key,
                None,
                format!(
                    "{prefix}queue_bytes on a link without a bandwidth: such a link sends at once and never queues"
                ),
                fix,
            );
        }
    }
}
