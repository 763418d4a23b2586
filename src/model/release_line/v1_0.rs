//! Istio 1.0.x: one umbrella chart with sub-charts switched by conditions; mutual TLS through
//! a MeshPolicy, replicas spread by the post-renderer, extra gateways as values entries.

use super::*;

/// The 1.0 tag from which the security chart always applies a mesh-wide MeshPolicy,
/// PERMISSIVE while `global.mtls.enabled` is false; before it, that case applied none.
pub const MESH_POLICY_ALWAYS_FROM: semver::Version = semver::Version::new(1, 0, 3);

/// The 1.0 tag from which the kiali chart no longer creates the Secret `kiali` its Deployment
/// reads the dashboard's credentials from (1.0.0 to 1.0.5 wrote it from `kiali.dashboard`).
pub const KIALI_SECRET_GONE_FROM: semver::Version = semver::Version::new(1, 0, 6);

/// The umbrella chart, as vendored.
const UMBRELLA: &str = "istio";

const CHARTS: &[ChartSource] = &[ChartSource {
    name: UMBRELLA,
    upstream_path: "install/kubernetes/helm/istio",
    release: "istio",
    after: None,
}];

const INGRESS: &[DefaultPort] = &[
    DefaultPort::new("http2", 80, Some(80), Some(31380), None),
    DefaultPort::new("https", 443, None, Some(31390), None),
    DefaultPort::new("tcp", 31400, None, Some(31400), None),
    DefaultPort::new("tcp-pilot-grpc-tls", 15011, Some(15011), None, None),
    DefaultPort::new("tcp-citadel-grpc-tls", 8060, Some(8060), None, None),
    DefaultPort::new("tcp-dns-tls", 853, Some(853), None, None),
    DefaultPort::new("http2-prometheus", 15030, Some(15030), None, None),
    DefaultPort::new("http2-grafana", 15031, Some(15031), None, None),
];

/// 1.0.0's ingress gateway: 1.0.1 added `tcp-dns-tls` (853), otherwise the same list.
const INGRESS_1_0_0: &[DefaultPort] = &[
    DefaultPort::new("http2", 80, Some(80), Some(31380), None),
    DefaultPort::new("https", 443, None, Some(31390), None),
    DefaultPort::new("tcp", 31400, None, Some(31400), None),
    DefaultPort::new("tcp-pilot-grpc-tls", 15011, Some(15011), None, None),
    DefaultPort::new("tcp-citadel-grpc-tls", 8060, Some(8060), None, None),
    DefaultPort::new("http2-prometheus", 15030, Some(15030), None, None),
    DefaultPort::new("http2-grafana", 15031, Some(15031), None, None),
];

const EGRESS: &[DefaultPort] = &[
    DefaultPort::new("http2", 80, None, None, None),
    DefaultPort::new("https", 443, None, None, None),
];

/// 1.0.9: 0.6's two, and 15090 Envoy's Prometheus port (`pilot/pkg/kube/inject/mesh.go`).
const RESERVED_PORTS: &[ReservedPort] = &[
    ReservedPort::new(15000, "Envoy's admin port"),
    ReservedPort::new(15001, "the port iptables redirects traffic to"),
    ReservedPort::new(15090, "Envoy's Prometheus port"),
];

/// 1.0.0 to 1.0.2's injector publishes no Prometheus port (1.0.3 added 15090): 0.6's two.
const PROMETHEUS_PORT_FROM: semver::Version = semver::Version::new(1, 0, 3);

/// No chart has an anti-affinity value, so every Deployment the values give replicas is a
/// target, with the pod labels its template writes in every 1.0 tag (1.0.0 to 1.0.9): the two
/// mixers share `istio: mixer` and differ by `istio-mixer-type`; the gateways' come from the
/// chart's `gateways.<name>.labels`, which meshgen leaves at their defaults.
const POST_RENDER_TARGETS: &[PostRenderTarget] = &[
    target(
        "istio-pilot",
        HaComponent::Pilot,
        &[("app", "pilot"), ("istio", "pilot")],
    ),
    target(
        "istio-policy",
        HaComponent::Mixer,
        &[("istio", "mixer"), ("istio-mixer-type", "policy")],
    ),
    target(
        "istio-telemetry",
        HaComponent::Mixer,
        &[("istio", "mixer"), ("istio-mixer-type", "telemetry")],
    ),
    target(
        "istio-citadel",
        HaComponent::Citadel,
        &[("istio", "citadel")],
    ),
    target("istio-galley", HaComponent::Galley, &[("istio", "galley")]),
    target(
        "istio-sidecar-injector",
        HaComponent::SidecarInjector,
        &[("istio", "sidecar-injector")],
    ),
    target(
        "istio-ingressgateway",
        HaComponent::IngressGateway,
        &[("app", "istio-ingressgateway"), ("istio", "ingressgateway")],
    ),
    // Left out when the platform switches the egress gateway off.
    target(
        "istio-egressgateway",
        HaComponent::EgressGateway,
        &[("app", "istio-egressgateway"), ("istio", "egressgateway")],
    ),
];

/// The apiVersion of every 1.0 Deployment.
const DEPLOYMENT_API: &str = "extensions/v1beta1";

const fn target(
    name: &'static str,
    component: HaComponent,
    pod_labels: &'static [(&'static str, &'static str)],
) -> PostRenderTarget {
    PostRenderTarget {
        name,
        component,
        api_version: DEPLOYMENT_API,
        pod_labels,
    }
}

/// The fixes of the 1.0 umbrella chart.
const CHART_FIXES: &[ChartFix] = &[
    // Helm 3 and 4 skip the `crd-install` hook ("skipping unknown hooks"), so the release's
    // own Gateways, rules and metrics would find no CRD.
    ChartFix {
        name: "crds-dir-1.0",
        chart: UMBRELLA,
        versions: "*",
        edits: &[
            Edit::MoveCrds {
                from: "templates/crds.yaml",
                to: "crds/crds.yaml",
            },
            Edit::MoveCrds {
                from: "charts/certmanager/templates/crds.yaml",
                to: "charts/certmanager/crds/crds.yaml",
            },
        ],
    },
    // `(x) and eq a b` gave arguments to a non-function: Go templates before 1.11 ignored them,
    // today's refuse to render, so `tracing: true` failed. Written as the condition meant.
    ChartFix {
        name: "jaeger-ingress-condition-1.0",
        chart: UMBRELLA,
        versions: "*",
        edits: &[Edit::Replace {
            file: "charts/tracing/templates/ingress-jaeger.yaml",
            anchor: "{{ if (.Values.jaeger.ingress.enabled) and eq .Values.provider \"jaeger\" }}",
            with: "{{ if and .Values.jaeger.ingress.enabled (eq .Values.provider \"jaeger\") }}",
            count: 1,
        }],
    },
    // The same, with `or`, in 1.0.0 and 1.0.1: the telemetry gateway never rendered. 1.0.2
    // wrote it as here.
    ChartFix {
        name: "telemetry-gateway-condition-1.0",
        chart: UMBRELLA,
        versions: "<1.0.2",
        edits: &[Edit::Replace {
            file: "charts/telemetry-gateway/templates/gateway.yaml",
            anchor: "{{- if (.Values.prometheusEnabled) or (.Values.grafanaEnabled) }}",
            with: "{{- if or (.Values.prometheusEnabled) (.Values.grafanaEnabled) }}",
            count: 1,
        }],
    },
    // 1.0.0's gateway Deployments write `app` once from `labels.istio` and again from the
    // labels themselves: Kubernetes keeps the second, kustomize refuses the object. 1.0.1
    // dropped the first, as here.
    ChartFix {
        name: "gateway-app-label-1.0",
        chart: UMBRELLA,
        versions: "<1.0.1",
        edits: &[Edit::Replace {
            file: "charts/gateways/templates/deployment.yaml",
            anchor: "  labels:\n    app: {{ $spec.labels.istio }}\n    chart: {{ $.Chart.Name }}",
            with: "  labels:\n    chart: {{ $.Chart.Name }}",
            count: 1,
        }],
    },
    // The proxy containers of mixer's Deployments open a second `ports:` key for the Prometheus
    // port. Kubernetes keeps the last key, kustomize (Flux's post-renderers) refuses the
    // object; one list holds all the ports, as the template meant.
    ChartFix {
        name: "mixer-proxy-ports-1.0",
        chart: UMBRELLA,
        versions: ">=1.0.3",
        edits: &[Edit::Replace {
            file: "charts/mixer/templates/deployment.yaml",
            anchor: "{{ if ne .Values.global.proxy.stats.prometheusPort 0. }}\n        ports:\n",
            with: "{{ if ne .Values.global.proxy.stats.prometheusPort 0. }}\n",
            count: 2,
        }],
    },
    // The security chart's post-install Job applies the MeshPolicy and `*.local`
    // DestinationRules, grafana's its `grafana-ports-mtls-disabled` Policy: only at install, so
    // a later change of `spec.mtls` or of the add-ons never reached the mesh. `meshgen
    // manifests` applies the same objects on every change; the Jobs would fight it at install.
    ChartFix {
        name: "custom-resources-jobs-1.0",
        chart: UMBRELLA,
        versions: "*",
        edits: &[
            Edit::DropInstallJob {
                file: "charts/security/templates/create-custom-resources-job.yaml",
                applies: "/tmp/security/custom-resources.yaml",
            },
            Edit::DropInstallJob {
                file: "charts/grafana/templates/create-custom-resources-job.yaml",
                applies: "/tmp/grafana/custom-resources.yaml",
            },
        ],
    },
    // Pilot's chart renders the `istio-autogenerated-k8s-ingress` Gateway unconditionally;
    // seed 003 deletes it when requests miss the ingress gateway, and a deletion lasts until
    // the next upgrade. `global.k8sIngressGateway: false` (`spec.kubernetesIngressGateway`)
    // leaves it out; unset, it renders as upstream.
    ChartFix {
        name: "k8s-ingress-gateway-switch-1.0",
        chart: UMBRELLA,
        versions: "*",
        edits: &[
            Edit::Replace {
                file: "charts/pilot/templates/gateway.yaml",
                anchor: "apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata:\n  name: istio-autogenerated-k8s-ingress\n",
                with: "{{- if ne (toString .Values.global.k8sIngressGateway) \"false\" }}\napiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata:\n  name: istio-autogenerated-k8s-ingress\n",
                count: 1,
            },
            Edit::Replace {
                file: "charts/pilot/templates/gateway.yaml",
                anchor: "{{ end }}\n---\n{{- if .Values.global.meshExpansion }}",
                with: "{{ end }}\n{{- end }}\n---\n{{- if .Values.global.meshExpansion }}",
                count: 1,
            },
        ],
    },
];

pub(super) static SPEC: LineSpec = LineSpec {
    name: "1.0",
    major_minor: (1, 0),
    patches: (0, 9),
    charts: CHARTS,
    crd_dirs: &[(
        UMBRELLA,
        &[
            ("crds/", None),
            ("charts/certmanager/crds/", Some("certmanager.enabled")),
        ],
    )],
    networking_crds: &[
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "serviceentries.networking.istio.io",
        "gateways.networking.istio.io",
        "envoyfilters.networking.istio.io",
    ],
    chart_keys: ChartKeyFiles {
        types: include_str!("../../../data/chart-keys/1.0.types.txt"),
        extra: include_str!("../../../data/chart-keys/1.0.extra.txt"),
        since: include_str!("../../../data/chart-keys/1.0.since.txt"),
        read_since: "",
        until: include_str!("../../../data/chart-keys/1.0.until.txt"),
    },
    vendored_values: VendoredValues::ReleaseHubTag,
    chart_fixes: CHART_FIXES,
    // It renders `extensions/v1beta1` Deployments, gone in 1.16.
    kubernetes: KubeSupport {
        works_from: KubeMinor::new(1, 9),
        tested_from: KubeMinor::new(1, 9),
        tested_to: KubeMinor::new(1, 11),
        works_to: KubeMinor::new(1, 15),
        too_old: "its charts use APIs this version does not serve",
        too_new: "its charts render extensions/v1beta1 Deployments, removed in Kubernetes 1.16",
    },
    mtls_mechanism: MtlsMechanism::MeshPolicy,
    permissive_mtls: true,
    mesh_policy_always_from: Some(MESH_POLICY_ALWAYS_FROM),
    serves_mixer_era_apis: true,
    ships_addons: true,
    addon_refusals: &[(
        AddonKind::Zipkin,
        "on Istio 1.0 set tracing: true instead: Jaeger serves the Zipkin API",
    )],
    // The kiali chart's Service is ClusterIP only; prometheus's NodePort is a second Service.
    addon_service_types_refused: &[
        (
            AddonKind::Kiali,
            &[ServiceType::LoadBalancer, ServiceType::NodePort],
        ),
        (AddonKind::Prometheus, &[ServiceType::LoadBalancer]),
    ],
    kiali_secret_gone_from: Some(KIALI_SECRET_GONE_FROM),
    sets_component_images: false,
    tracing_is_zipkin_addon: false,
    trace_sampling: true,
    has_autogenerated_k8s_ingress: true,
    sidecar_injector: SidecarInjector::Chart,
    has_egress_gateway: true,
    configurable_ingress_service: true,
    only_node_port_value: None,
    node_ports_on_load_balancer: true,
    extra_gateways: ExtraGateways::ValuesEntries,
    gateway_ports: GatewayPorts {
        ingress: INGRESS,
        ingress_before: Some((semver::Version::new(1, 0, 1), INGRESS_1_0_0)),
        egress: EGRESS,
    },
    gke_internal_lb_annotation: Some(("cloud.google.com/load-balancer-type", "Internal")),
    ha_components: &HaComponent::ALL,
    control_plane_is_istiod: false,
    spreads_replicas: true,
    post_render: PostRender {
        chart: Some(UMBRELLA),
        targets: POST_RENDER_TARGETS,
        // Each a gateways chart entry, its pod labels the entry's labels.
        extra_gateways: Some(DEPLOYMENT_API),
    },
    lint: LintFacts {
        // `pilot/pkg/model/service.go` `ParseProtocol` (0.6's and `tls`), read by
        // `pilot/pkg/serviceregistry/kube/conversion.go` `ConvertProtocol`.
        protocols: &[
            "grpc", "http", "http2", "https", "mongo", "redis", "tcp", "tls",
        ],
        reads_app_protocol: false,
        sniffs_unnamed_ports: None,
        reserved_ports: RESERVED_PORTS,
        reserved_ports_before: Some((PROMETHEUS_PORT_FROM, super::v0_6::RESERVED_PORTS)),
        injects_by_pod_label: false,
    },
    render: RenderFacts {
        unowned_objects: &[(
            "validatingwebhookconfiguration",
            "istio-galley",
            "Galley registers it at run time: no release owns it",
        )],
        crd_pattern: Some(r"'\.(istio\.io|certmanager\.k8s\.io)$'"),
        addon_service_prefix: "",
        addon_services_unprefixed: &[],
        manifests_after: MANIFESTS_AFTER_ISTIO,
        revisioned_chart: None,
    },
};
