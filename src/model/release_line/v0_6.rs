//! Istio 0.6: one umbrella chart whose values.yaml is generated at release time from a
//! template; no egress gateway, no injector the chart can install, Zipkin for tracing.

use super::*;

/// Why 0.6's chart cannot install the sidecar injector, for the typed field and `spec.values`.
const NO_INJECTOR: &str = "Istio 0.6's chart cannot install automatic sidecar injection: its webhook's caBundle is the placeholder `${CA_BUNDLE}` and its certificate secret `sidecar-injector-certs` must be signed by the cluster's CA";

/// What a 0.6 platform does instead of `sidecarInjection`: inject by hand, or the 0.6
/// release's own steps (as the minikube seed runs them), outside Helm.
const INJECTION_STEPS: &str = "remove `sidecarInjection` and inject by hand (`istioctl kube-inject -f app.yaml | kubectl apply -f -`), or install the injector from the istio-0.6.0 release archive outside Helm: `./install/kubernetes/webhook-create-signed-cert.sh --service istio-sidecar-injector --namespace istio-system --secret sidecar-injector-certs`, `kubectl apply -f install/kubernetes/istio-sidecar-injector-configmap-release.yaml`, `cat install/kubernetes/istio-sidecar-injector.yaml | ./install/kubernetes/webhook-patch-ca-bundle.sh | kubectl apply -f -`, then `kubectl label namespace NAME istio-injection=enabled`; or use Istio 1.0, whose chart installs the injector";

/// The umbrella chart, as vendored.
const UMBRELLA: &str = "istio";

const CHARTS: &[ChartSource] = &[ChartSource {
    name: UMBRELLA,
    upstream_path: "install/kubernetes/helm/istio",
    release: "istio",
    after: None,
}];

// 0.6 hard-codes its ingress ports in the Service template; only http's nodePort is a value.
const INGRESS: &[DefaultPort] = &[
    DefaultPort::new("http", 80, None, Some(32000), None),
    DefaultPort::new("https", 443, None, None, None),
];

/// 0.6.0: 15000 `ProxyAdminPort` (`pilot/pkg/model/context.go`), 15001 the redirect target
/// (`tools/deb/istio-iptables.sh`).
pub(super) const RESERVED_PORTS: &[ReservedPort] = &[
    ReservedPort::new(15000, "Envoy's admin port"),
    ReservedPort::new(15001, "the port iptables redirects traffic to"),
];

/// The fixes of the 0.6 chart.
const CHART_FIXES: &[ChartFix] = &[
    // The 0.6 chart's add-on images are `latest`; the 0.6.0 release's kubectl install
    // (install/kubernetes/templates/) pinned these, and today's `latest` Prometheus cannot
    // read 0.6's configuration. (Its Zipkin was `latest` there too: no pin to restore.)
    ChartFix {
        name: "addon-images-0.6",
        chart: UMBRELLA,
        versions: "*",
        edits: &[
            Edit::Replace {
                file: "values.yaml",
                anchor: "    repository: prom/statsd-exporter\n    tag: latest\n",
                with: "    repository: prom/statsd-exporter\n    tag: v0.5.0\n",
                count: 1,
            },
            Edit::Replace {
                file: "values.yaml",
                anchor: "    repository: docker.io/prom/prometheus\n    tag: latest\n",
                with: "    repository: docker.io/prom/prometheus\n    tag: v2.0.0\n",
                count: 1,
            },
        ],
    },
    // Mixer sends spans to `zipkin`, the kubectl install's Service; the chart names it after
    // the release (`istio-zipkin`).
    ChartFix {
        name: "mixer-zipkin-address-0.6",
        chart: UMBRELLA,
        versions: "*",
        edits: &[Edit::Replace {
            file: "charts/mixer/templates/deployment.yaml",
            anchor: "--zipkinURL=http://zipkin:9411/",
            with: "--zipkinURL=http://{{ .Release.Name }}-zipkin:9411/",
            count: 1,
        }],
    },
    // The ingress container lists port 443 as a second `containerPort` key of port 80's entry.
    ChartFix {
        name: "ingress-container-ports-0.6",
        chart: UMBRELLA,
        versions: "*",
        edits: &[Edit::Replace {
            file: "charts/ingress/templates/deployment.yaml",
            anchor: "            - containerPort: 80\n              containerPort: 443\n",
            with: "            - containerPort: 80\n            - containerPort: 443\n",
            count: 1,
        }],
    },
];

pub(super) static SPEC: LineSpec = LineSpec {
    name: "0.6",
    major_minor: (0, 6),
    patches: (0, 0),
    charts: CHARTS,
    crd_dirs: &[],
    // 0.6 kept its routing in `config.istio.io`.
    networking_crds: &[],
    chart_keys: ChartKeyFiles {
        types: include_str!("../../../data/chart-keys/0.6.types.txt"),
        extra: include_str!("../../../data/chart-keys/0.6.extra.txt"),
        // One release: nothing changes within the line.
        since: "",
        read_since: "",
        until: "",
    },
    vendored_values: VendoredValues::GeneratedFromTemplate,
    chart_fixes: CHART_FIXES,
    // 0.6 needs 1.9 for the mutating webhook behind automatic sidecar injection; it renders
    // `extensions/v1beta1` Deployments, gone in 1.16.
    kubernetes: KubeSupport {
        works_from: KubeMinor::new(1, 9),
        tested_from: KubeMinor::new(1, 9),
        tested_to: KubeMinor::new(1, 10),
        works_to: KubeMinor::new(1, 15),
        too_old: "automatic sidecar injection needs the mutating webhooks of Kubernetes 1.9",
        too_new: "its charts render extensions/v1beta1 Deployments, removed in Kubernetes 1.16",
    },
    mtls_mechanism: MtlsMechanism::ChartValues,
    // Its only switch is `global.securityEnabled`: mutual TLS for every service, or none.
    permissive_mtls: false,
    mesh_policy_always_from: None,
    serves_mixer_era_apis: true,
    ships_addons: true,
    addon_refusals: &[(
        AddonKind::Kiali,
        "Istio 0.6 has no Kiali chart; use istio \"1.0\"",
    )],
    addon_service_types_refused: &[],
    kiali_secret_gone_from: None,
    sets_component_images: true,
    tracing_is_zipkin_addon: true,
    trace_sampling: false,
    has_autogenerated_k8s_ingress: false,
    sidecar_injector: SidecarInjector::ByHand {
        why: NO_INJECTOR,
        steps: INJECTION_STEPS,
    },
    has_egress_gateway: false,
    configurable_ingress_service: false,
    // The chart sets `nodePort` only when its `nodePort.enabled` also makes the Service a
    // NodePort one.
    only_node_port_value: Some("http"),
    node_ports_on_load_balancer: false,
    extra_gateways: ExtraGateways::Unsupported,
    gateway_ports: GatewayPorts {
        ingress: INGRESS,
        ingress_before: None,
        egress: &[],
    },
    gke_internal_lb_annotation: None,
    // No galley, egress gateway or extra gateways.
    ha_components: &[
        HaComponent::Pilot,
        HaComponent::Mixer,
        HaComponent::Citadel,
        HaComponent::SidecarInjector,
        HaComponent::IngressGateway,
    ],
    control_plane_is_istiod: false,
    spreads_replicas: false,
    // Its charts set replicas through values, and anti-affinity is refused on 0.6.
    post_render: PostRender {
        chart: None,
        targets: &[],
        extra_gateways: None,
    },
    lint: LintFacts {
        // `pilot/pkg/model/service.go` `ConvertCaseInsensitiveStringToProtocol`, read by
        // `pilot/pkg/serviceregistry/kube/conversion.go` `ConvertProtocol` (which ignores
        // `udp`).
        protocols: &["grpc", "http", "http2", "https", "mongo", "redis", "tcp"],
        reads_app_protocol: false,
        sniffs_unnamed_ports: None,
        reserved_ports: RESERVED_PORTS,
        reserved_ports_before: None,
        injects_by_pod_label: false,
    },
    render: RenderFacts {
        unowned_objects: &[],
        crd_pattern: None,
        addon_service_prefix: "istio-",
        addon_services_unprefixed: &[AddonKind::Prometheus],
        manifests_after: MANIFESTS_AFTER_ISTIO,
        revisioned_chart: None,
    },
};
