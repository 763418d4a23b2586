//! The lint rules over the objects `read` found. Each finding is located at the field it is
//! about (the port's name, the template's labels, the service account) and names its rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::facts;
use super::read::{get, scalar, str_at, Manifests, Object};
use super::{Rule, Target};
use crate::error::Diagnostic;
use crate::model::release_line::{ReleaseLine, SidecarInjector};
use crate::yaml::{Node, NodeValue, PathSegment, Span};

/// The annotation (and, on 1.11, the label) a pod opts in or out of injection with.
pub const INJECT_KEY: &str = "sidecar.istio.io/inject";

fn finding(
    rule: Rule,
    file: &str,
    span: Span,
    path: String,
    message: String,
    hint: String,
) -> Diagnostic {
    Diagnostic {
        severity: rule.severity(),
        rule: Some(rule.id().to_string()),
        hint: Some(hint),
        ..Diagnostic::error(file, span.line, span.col, path, message)
    }
}

/// `a.b[0].c` as path segments, for `Node::locate`.
fn segments(path: &str) -> Vec<PathSegment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            out.push(PathSegment::Key(key.to_string()));
        }
        for index in pieces {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(PathSegment::Index(i));
            }
        }
    }
    out
}

/// What a port name (or 1.11's `appProtocol`) says to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortClass {
    /// `<protocol>[-<suffix>]` with a protocol the line knows.
    Known(&'static str),
    /// A protocol with the suffix glued on (`http2foo`): read as no protocol at all.
    Glued(&'static str),
    /// No name, or a prefix the line does not know.
    Unknown,
}

/// How `line` reads a port name: the prefix before the first `-`, without case (1.11 also
/// matches `grpc-web` whole).
pub fn classify(name: &str, line: ReleaseLine) -> PortClass {
    let lower = name.to_ascii_lowercase();
    let known = facts::protocols(line);
    if let Some(p) = known
        .iter()
        .find(|p| p.contains('-') && lower.starts_with(**p))
    {
        return PortClass::Known(p);
    }
    let prefix = lower.split('-').next().unwrap_or("");
    if let Some(p) = known.iter().find(|p| **p == prefix) {
        return PortClass::Known(p);
    }
    // The longest known protocol the prefix starts with: `https2x` is https glued, not http.
    let glued = known
        .iter()
        .filter(|p| !p.contains('-') && prefix.len() > p.len() && prefix.starts_with(**p))
        .max_by_key(|p| p.len());
    match glued {
        Some(p) => PortClass::Glued(p),
        None => PortClass::Unknown,
    }
}

/// A Service, with its ports classified.
struct Service<'a> {
    object: &'a Object,
    selector: Vec<(String, String)>,
    ports: Vec<ServicePort>,
}

struct ServicePort {
    index: usize,
    /// The pod port it sends to: `targetPort` (a number or a container port's name), else `port`.
    target: String,
    /// What the line makes of it, for comparing Services: the protocol, or `tcp`/`auto`.
    protocol: String,
}

/// A pod, or a controller's pod template.
struct Pod<'a> {
    object: &'a Object,
    /// The template node (the object itself for a Pod).
    template: &'a Node,
    /// `spec.template.` and the like; empty for a Pod.
    prefix: &'static str,
    labels: BTreeMap<String, String>,
}

fn template_of(object: &Object) -> Option<(&Node, &'static str)> {
    match object.kind.as_str() {
        "Pod" => Some((&object.node, "")),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => get(&object.node, &["spec", "template"]).map(|t| (t, "spec.template.")),
        "CronJob" => get(&object.node, &["spec", "jobTemplate", "spec", "template"])
            .map(|t| (t, "spec.jobTemplate.spec.template.")),
        _ => None,
    }
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    match node.map(|n| &n.value) {
        Some(NodeValue::Map(entries)) => entries
            .iter()
            .filter_map(|e| scalar(&e.value).map(|v| (e.key.clone(), v)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn selects(selector: &[(String, String)], labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The pods of one namespace, in input order, indexed by each of their labels: a selector's
/// pods are found among those carrying its rarest label, not by looking at every pod (a
/// stream of thousands of applications would make the Service rules quadratic).
#[derive(Default)]
struct NamespacePods<'a> {
    pods: Vec<&'a Pod<'a>>,
    by_label: HashMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> NamespacePods<'a> {
    fn push(&mut self, pod: &'a Pod<'a>) {
        for (k, v) in &pod.labels {
            self.by_label
                .entry((k.as_str(), v.as_str()))
                .or_default()
                .push(self.pods.len());
        }
        self.pods.push(pod);
    }

    /// The pods `selector` picks, in input order.
    fn selected<'s>(
        &'s self,
        selector: &'s [(String, String)],
    ) -> impl Iterator<Item = &'a Pod<'a>> + 's {
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                self.by_label
                    .get(&(k.as_str(), v.as_str()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|candidates| candidates.len())
            .unwrap_or(&[]);
        rarest
            .iter()
            .map(|&i| self.pods[i])
            .filter(move |p| selects(selector, &p.labels))
    }
}

/// Every rule, over every object.
pub fn check(manifests: &Manifests, target: &Target) -> Vec<Diagnostic> {
    let line = target.line;
    let names: Vec<&str> = manifests.files.iter().map(|f| f.name.as_str()).collect();
    let file = |o: &Object| names[o.file];
    let mut out = Vec::new();

    let pods: Vec<Pod> = manifests
        .objects
        .iter()
        .filter_map(|object| {
            let (template, prefix) = template_of(object)?;
            Some(Pod {
                object,
                template,
                prefix,
                labels: string_map(get(template, &["metadata", "labels"])),
            })
        })
        .collect();

    let sidecar = Sidecar {
        line,
        ports: facts::reserved_ports_at(line, target.release.as_ref()),
    };
    let mut injected_namespaces: BTreeSet<String> = target
        .injection_namespaces
        .iter()
        .flatten()
        .cloned()
        .collect();
    for o in manifests.objects.iter().filter(|o| o.kind == "Namespace") {
        // The legacy label wins over a revision's (the 1.11 webhooks' own order).
        let legacy = str_at(&o.node, &["metadata", "labels", "istio-injection"]);
        let revision = str_at(&o.node, &["metadata", "labels", "istio.io/rev"]);
        let by_revision = line.has_revisions() && legacy.is_none() && revision.is_some();
        if legacy.as_deref() == Some("enabled") || by_revision {
            injected_namespaces.insert(o.name.clone());
        }
    }

    let services: Vec<Service> = manifests
        .objects
        .iter()
        .filter(|o| o.kind == "Service")
        .map(|object| service(object, line, file(object), &mut out))
        .collect();

    for pod in &pods {
        let f = file(pod.object);
        pod_labels(pod, f, &mut out);
        let injected = injection(pod, target, &injected_namespaces, f, &mut out);
        if injected != Some(false) {
            reserved_container_ports(pod, sidecar, f, &mut out);
            if injected == Some(true) {
                psp_binding(pod, target, f, &mut out);
            }
        }
    }

    // Pods (by namespace) for the Service rules.
    let mut by_namespace: HashMap<&str, NamespacePods> = HashMap::new();
    for pod in &pods {
        by_namespace
            .entry(pod.object.namespace.as_str())
            .or_default()
            .push(pod);
    }
    let no_pods = NamespacePods::default();
    for svc in &services {
        let pods = by_namespace
            .get(svc.object.namespace.as_str())
            .unwrap_or(&no_pods);
        app_label(svc, pods, file(svc.object), &mut out);
        reserved_service_ports(svc, sidecar, file(svc.object), &mut out);
        node_port_range(svc, target, file(svc.object), &mut out);
    }
    protocol_conflicts(&services, &by_namespace, &names, &mut out);
    out
}

fn service<'a>(
    object: &'a Object,
    line: ReleaseLine,
    file: &str,
    out: &mut Vec<Diagnostic>,
) -> Service<'a> {
    let selector = string_map(get(&object.node, &["spec", "selector"]))
        .into_iter()
        .collect();
    let mut ports = Vec::new();
    if let Some(NodeValue::Seq(items)) = get(&object.node, &["spec", "ports"]).map(|n| &n.value) {
        for (index, port) in items.iter().enumerate() {
            let number = match get(port, &["port"]).map(|n| &n.value) {
                Some(NodeValue::Int(i)) => Some(*i),
                _ => None,
            };
            let target = str_at(port, &["targetPort"])
                .or_else(|| number.map(|n| n.to_string()))
                .unwrap_or_default();
            let udp = str_at(port, &["protocol"]).is_some_and(|p| p != "TCP");
            let protocol = if udp {
                str_at(port, &["protocol"])
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            } else {
                port_protocol(object, port, index, number, line, file, out)
            };
            ports.push(ServicePort {
                index,
                target,
                protocol,
            });
        }
    }
    Service {
        object,
        selector,
        ports,
    }
}

/// The port-name and port-protocol rules on one TCP port; what the line makes of the port.
fn port_protocol(
    object: &Object,
    port: &Node,
    index: usize,
    number: Option<i64>,
    line: ReleaseLine,
    file: &str,
    out: &mut Vec<Diagnostic>,
) -> String {
    let base = format!("spec.ports[{index}]");
    let (field, value) = match str_at(port, &["appProtocol"]) {
        Some(app) if facts::reads_app_protocol(line) => ("appProtocol", Some(app)),
        _ => ("name", str_at(port, &["name"]).filter(|n| !n.is_empty())),
    };
    let path = format!("{base}.{field}");
    let span = object.node.locate_value(&segments(&path));
    let fallback = match unnamed_fallback(line, number) {
        true => "tcp",
        false => "auto",
    };
    let svc = &object.name;
    let Some(value) = value else {
        let path = format!("{base}.port");
        out.push(finding(
            Rule::PortProtocol,
            file,
            object.node.locate(&segments(&path)),
            path,
            format!(
                "port {} of Service `{svc}` has no name: {}",
                number.map_or("?".into(), |n| n.to_string()),
                facts::unnamed_reads_as(line, number)
            ),
            protocol_hint(line),
        ));
        return fallback.into();
    };
    match classify(&value, line) {
        PortClass::Known(p) => p.into(),
        PortClass::Glued(p) => {
            let suffix = &value[p.len()..];
            out.push(finding(
                Rule::PortName,
                file,
                span,
                path,
                format!(
                    "`{value}` is not `{p}` to Istio: it reads the protocol up to the first `-`, so this port has none ({})",
                    facts::unnamed_reads_as(line, number)
                ),
                format!("write `{}-{suffix}`", &value[..p.len()]),
            ));
            fallback.into()
        }
        PortClass::Unknown => {
            out.push(finding(
                Rule::PortProtocol,
                file,
                span,
                path,
                format!(
                    "`{value}` names no protocol Istio {line} knows: {}",
                    facts::unnamed_reads_as(line, number)
                ),
                protocol_hint(line),
            ));
            fallback.into()
        }
    }
}

fn unnamed_fallback(line: ReleaseLine, number: Option<i64>) -> bool {
    facts::unnamed_is_tcp(line, number)
}

fn protocol_hint(line: ReleaseLine) -> String {
    let mut hint = format!(
        "name the port `<protocol>[-<suffix>]` with one of {}",
        facts::protocols(line).join(", ")
    );
    if facts::reads_app_protocol(line) {
        hint.push_str(", or set `appProtocol`");
    }
    hint.push_str(" (`tcp-...` to say plain TCP on purpose)");
    hint
}

fn pod_labels(pod: &Pod, file: &str, out: &mut Vec<Diagnostic>) {
    let missing: Vec<&str> = ["app", "version"]
        .into_iter()
        .filter(|l| !pod.labels.contains_key(*l))
        .collect();
    if missing.is_empty() {
        return;
    }
    let path = format!("{}metadata.labels", pod.prefix);
    let span = pod.object.node.locate(&segments(&path));
    let o = pod.object;
    out.push(finding(
        Rule::PodLabels,
        file,
        span,
        path,
        format!(
            "{} `{}` has no {} label on its pods: Istio's metrics and traces lose the application and its version",
            o.kind,
            o.name,
            missing.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(" or ")
        ),
        format!(
            "add {} to the pod template's labels",
            missing.iter().map(|l| format!("`{l}: ...`")).collect::<Vec<_>>().join(" and ")
        ),
    ));
}

/// Whether the pod gets a sidecar (None: no platform says which namespaces are injected);
/// reports the pods that do not, unless they opted out.
fn injection(
    pod: &Pod,
    target: &Target,
    injected_namespaces: &BTreeSet<String>,
    file: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<bool> {
    target.injection_namespaces.as_ref()?;
    let annotations = string_map(get(pod.template, &["metadata", "annotations"]));
    let annotation = annotations.get(INJECT_KEY).map(String::as_str);
    let label = pod.labels.get(INJECT_KEY).map(String::as_str);
    let by_label = facts::injects_by_pod_label(target.line);
    if annotation == Some("false") || (by_label && label == Some("false")) {
        return Some(false);
    }
    let namespace = &pod.object.namespace;
    if injected_namespaces.contains(namespace) || (by_label && label == Some("true")) {
        return Some(true);
    }
    let o = pod.object;
    let platform = target.platform.as_deref().unwrap_or("the platform");
    let (path, why) = if annotation == Some("true") {
        (
            format!("{}metadata.annotations", pod.prefix),
            format!("its `{INJECT_KEY}: \"true\"` annotation alone does not inject: the injector only sees namespaces labelled `istio-injection: enabled`"),
        )
    } else {
        (
            format!("{}metadata", pod.prefix),
            format!("{platform} does not label namespace `{namespace}` for injection"),
        )
    };
    let span = o.node.locate(&segments(&path));
    // Where the chart cannot install the injector, `sidecarInjection` is refused.
    let mut hint = match target.line.spec().sidecar_injector {
        SidecarInjector::ByHand { .. } => format!(
            "Istio {} injects by hand: `istioctl kube-inject -f app.yaml | kubectl apply -f -`",
            target.line
        ),
        SidecarInjector::Chart => {
            format!("add `{namespace}` to spec.sidecarInjection.namespaces of {platform}")
        }
    };
    if by_label {
        hint.push_str(&format!(", or label the pod `{INJECT_KEY}: \"true\"`"));
    }
    hint.push_str(&format!(
        "; annotate it `{INJECT_KEY}: \"false\"` to say no sidecar is meant"
    ));
    out.push(finding(
        Rule::NoSidecar,
        file,
        span,
        path,
        format!("{} `{}` gets no sidecar: {why}", o.kind, o.name),
        hint,
    ));
    Some(false)
}

fn psp_binding(pod: &Pod, target: &Target, file: &str, out: &mut Vec<Diagnostic>) {
    let Some(accounts) = &target.psp_accounts else {
        return;
    };
    let spec = get(pod.template, &["spec"]);
    let (field, account) = match spec.and_then(|s| str_at(s, &["serviceAccountName"])) {
        Some(a) => ("serviceAccountName", a),
        None => match spec.and_then(|s| str_at(s, &["serviceAccount"])) {
            Some(a) => ("serviceAccount", a),
            None => ("", "default".to_string()),
        },
    };
    let namespace = &pod.object.namespace;
    // An empty list binds `default:default` (install/manifests.rs).
    let bound = if accounts.is_empty() {
        namespace == "default" && account == "default"
    } else {
        accounts
            .iter()
            .any(|(ns, name)| ns == namespace && *name == account)
    };
    if bound {
        return;
    }
    let path = if field.is_empty() {
        format!("{}spec", pod.prefix)
    } else {
        format!("{}spec.{field}", pod.prefix)
    };
    let span = pod.object.node.locate_value(&segments(&path));
    let o = pod.object;
    let platform = target.platform.as_deref().unwrap_or("the platform");
    out.push(finding(
        Rule::PspBinding,
        file,
        span,
        path,
        format!(
            "{} `{}` runs as service account `{namespace}:{account}`{}, which the pod security policy of {platform} does not bind: its injected pods are refused (\"unable to validate against any pod security policy\")",
            o.kind,
            o.name,
            if field.is_empty() { " (the default)" } else { "" },
        ),
        format!("add `- \"{namespace}:{account}\"` to spec.podSecurityPolicy.serviceAccounts of {platform}"),
    ));
}

/// The sidecar a target's pods get: its line, and the ports it takes at the target's release.
#[derive(Clone, Copy)]
struct Sidecar {
    line: ReleaseLine,
    ports: &'static [facts::ReservedPort],
}

fn reserved(sidecar: Sidecar, port: i64) -> Option<facts::ReservedPort> {
    sidecar.ports.iter().copied().find(|r| r.port == port)
}

fn reserved_message(sidecar: Sidecar, r: facts::ReservedPort) -> (String, String) {
    let line = sidecar.line;
    (
        format!(
            "port {} is {} of Istio {line}'s sidecar in every injected pod",
            r.port, r.what
        ),
        format!(
            "move the application off the sidecar's ports ({})",
            sidecar
                .ports
                .iter()
                .map(|r| r.port.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn reserved_container_ports(pod: &Pod, sidecar: Sidecar, file: &str, out: &mut Vec<Diagnostic>) {
    let Some(NodeValue::Seq(containers)) =
        get(pod.template, &["spec", "containers"]).map(|n| &n.value)
    else {
        return;
    };
    for (c, container) in containers.iter().enumerate() {
        let Some(NodeValue::Seq(ports)) = get(container, &["ports"]).map(|n| &n.value) else {
            continue;
        };
        for (p, port) in ports.iter().enumerate() {
            let Some(NodeValue::Int(number)) = get(port, &["containerPort"]).map(|n| &n.value)
            else {
                continue;
            };
            if let Some(r) = reserved(sidecar, *number) {
                let path = format!(
                    "{}spec.containers[{c}].ports[{p}].containerPort",
                    pod.prefix
                );
                let span = pod.object.node.locate_value(&segments(&path));
                let (message, hint) = reserved_message(sidecar, r);
                out.push(finding(Rule::ReservedPort, file, span, path, message, hint));
            }
        }
    }
}

fn reserved_service_ports(svc: &Service, sidecar: Sidecar, file: &str, out: &mut Vec<Diagnostic>) {
    for port in &svc.ports {
        let Ok(number) = port.target.parse::<i64>() else {
            continue;
        };
        if let Some(r) = reserved(sidecar, number) {
            let base = format!("spec.ports[{}]", port.index);
            let node = get(&svc.object.node, &["spec", "ports"]);
            let field = match node.and_then(|n| match &n.value {
                NodeValue::Seq(items) => items.get(port.index),
                _ => None,
            }) {
                Some(p) if get(p, &["targetPort"]).is_some() => "targetPort",
                _ => "port",
            };
            let path = format!("{base}.{field}");
            let span = svc.object.node.locate_value(&segments(&path));
            let (message, hint) = reserved_message(sidecar, r);
            out.push(finding(
                Rule::ReservedPort,
                file,
                span,
                path,
                format!("Service `{}` sends to {message}", svc.object.name),
                hint,
            ));
        }
    }
}

/// Each `nodePort` of a Service held to the platform's node port range: outside it the API
/// server refuses the Service.
fn node_port_range(svc: &Service, target: &Target, file: &str, out: &mut Vec<Diagnostic>) {
    let (Some(range), Some(platform)) = (target.node_port_range, target.platform.as_deref()) else {
        return;
    };
    let Some(NodeValue::Seq(items)) = get(&svc.object.node, &["spec", "ports"]).map(|n| &n.value)
    else {
        return;
    };
    for (index, port) in items.iter().enumerate() {
        let Some(NodeValue::Int(node_port)) = get(port, &["nodePort"]).map(|n| &n.value) else {
            continue;
        };
        if u16::try_from(*node_port).is_ok_and(|p| range.contains(p)) {
            continue;
        }
        let path = format!("spec.ports[{index}].nodePort");
        let span = svc.object.node.locate_value(&segments(&path));
        out.push(finding(
            Rule::NodePortRange,
            file,
            span,
            path,
            format!(
                "Service `{}` asks for node port {node_port}, outside platform {platform}'s node port range {range}",
                svc.object.name
            ),
            format!("pick a port in {range}, or leave nodePort out and let the cluster assign one"),
        ));
    }
}

fn app_label(svc: &Service, pods: &NamespacePods, file: &str, out: &mut Vec<Diagnostic>) {
    let mut apps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in pods.selected(&svc.selector) {
        if let Some(app) = pod.labels.get("app") {
            apps.entry(app.clone())
                .or_default()
                .push(format!("{} `{}`", pod.object.kind, pod.object.name));
        }
    }
    if apps.len() < 2 {
        return;
    }
    let path = "spec.selector".to_string();
    let span = svc.object.node.locate(&segments(&path));
    let listed: Vec<String> = apps
        .iter()
        .map(|(app, who)| format!("`app: {app}` ({})", who.join(", ")))
        .collect();
    out.push(finding(
        Rule::AppLabel,
        file,
        span,
        path,
        format!(
            "the workloads behind Service `{}` carry different `app` labels: {}; Istio reports them as different applications",
            svc.object.name,
            listed.join(", ")
        ),
        "give every workload behind one Service the same `app` label (and tell them apart by `version`)".into(),
    ));
}

fn protocol_conflicts(
    services: &[Service],
    pods: &HashMap<&str, NamespacePods>,
    names: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    // Ports by namespace and target: only Services sending to the same pod port can clash.
    let mut by_target: BTreeMap<(&str, &str), Vec<(&Service, &ServicePort)>> = BTreeMap::new();
    for svc in services.iter().filter(|s| !s.selector.is_empty()) {
        for port in &svc.ports {
            by_target
                .entry((svc.object.namespace.as_str(), port.target.as_str()))
                .or_default()
                .push((svc, port));
        }
    }
    let no_pods = NamespacePods::default();
    for ((namespace, target), group) in by_target {
        let namespace_pods = pods.get(namespace).unwrap_or(&no_pods);
        // Earlier ports of the group by protocol: only another protocol can clash, so a group
        // of one protocol (thousands of `http` Services on 8080) costs no pair at all.
        let mut earlier: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, (b, bp)) in group.iter().enumerate() {
            let clash = earlier
                .iter()
                .filter(|(protocol, _)| **protocol != bp.protocol)
                .flat_map(|(_, indexes)| indexes.iter().copied())
                .filter(|&j| {
                    let (a, _) = group[j];
                    !std::ptr::eq(a, *b) && share_pods(a, b, namespace_pods)
                })
                .min()
                .map(|j| group[j]);
            earlier.entry(bp.protocol.as_str()).or_default().push(i);
            let Some((a, ap)) = clash else { continue };
            // The port's name (or number): a list item's own position is not reliable.
            let field = if get(&b.object.node, &["spec", "ports"]).is_some_and(|ports| {
                matches!(&ports.value, NodeValue::Seq(items) if items.get(bp.index).and_then(|p| get(p, &["name"])).is_some())
            }) {
                "name"
            } else {
                "port"
            };
            let path = format!("spec.ports[{}].{field}", bp.index);
            let span = b.object.node.locate_value(&segments(&path));
            out.push(finding(
                Rule::ProtocolConflict,
                names[b.object.file],
                span,
                path,
                format!(
                    "Services `{}` and `{}` select the same pods and send port {target} there as {} and as {}: Istio needs one protocol per pod port",
                    a.object.name, b.object.name, ap.protocol, bp.protocol
                ),
                format!(
                    "name port {} of both Services with the same protocol prefix (`{}-...`)",
                    target, ap.protocol
                ),
            ));
        }
    }
}

/// Whether two Services' selectors pick the same pods: a pod of the input matches both, or
/// one selector asks for everything the other does (its pods are the other's too).
fn share_pods(a: &Service, b: &Service, pods: &NamespacePods) -> bool {
    let subset = |x: &[(String, String)], y: &[(String, String)]| x.iter().all(|kv| y.contains(kv));
    subset(&a.selector, &b.selector)
        || subset(&b.selector, &a.selector)
        || pods
            .selected(&a.selector)
            .any(|p| selects(&b.selector, &p.labels))
}
