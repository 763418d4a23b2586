//! `meshgen lint` over 10,000 manifests in one stream (5,000 applications, each a Service and
//! a Deployment, as `helm template` of many charts prints them), for the kvm platform (pod
//! security policy and injection on). Run with `cargo bench --bench lint`; the figure is
//! the time per run of the whole stream: read, parse, every rule.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meshgen::lint::{self, read::Input, Settings, Target};

fn stream(apps: usize) -> String {
    let mut text = String::new();
    for i in 0..apps {
        text.push_str(&format!(
            "---\n# Source: app-{i}/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: default\n  labels:\n    app: app-{i}\n    chart: app-1.0.0\nspec:\n  type: ClusterIP\n  ports:\n  - name: http-web\n    port: 80\n    targetPort: 8080\n    protocol: TCP\n  - name: grpc-api\n    port: 9090\n  selector:\n    app: app-{i}\n---\n# Source: app-{i}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}-v1\n  namespace: default\n  labels:\n    app: app-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-{i}\n      version: v1\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n        version: v1\n      annotations:\n        prometheus.io/scrape: \"true\"\n    spec:\n      serviceAccountName: default\n      containers:\n      - name: app\n        image: \"registry.example.com/app-{i}:1.0.0\"\n        ports:\n        - containerPort: 8080\n        - containerPort: 9090\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n        readinessProbe:\n          httpGet: {{path: /healthz, port: 8080}}\n"
        ));
    }
    text
}

fn lint_stream(c: &mut Criterion) {
    let platform = meshgen::model::load::Source::builtin("kvm").unwrap();
    let loaded = meshgen::model::load::load(&platform, &[]).unwrap();
    let (v, o) = meshgen::render::resolve::version_for(None, loaded.file.spec.istio);
    let resolved = meshgen::render::resolve::resolve(&loaded.file, &loaded.doc, v, o);
    let target = Target::platform(&resolved);
    let inputs = [Input {
        name: "<stdin>".into(),
        text: stream(5_000),
    }];
    let report = lint::lint(&inputs, &target, &Settings::default()).unwrap();
    assert_eq!(report.objects, 10_000);
    assert!(report.findings.is_empty(), "{:?}", report.findings.first());
    eprintln!(
        "lint: {} manifests, {} bytes in one stream",
        report.objects,
        inputs[0].text.len()
    );
    let mut group = c.benchmark_group("lint");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000 manifests", |b| {
        b.iter(|| lint::lint(black_box(&inputs), &target, &Settings::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, lint_stream);
criterion_main!(benches);
