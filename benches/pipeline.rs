//! Criterion benchmarks of the library: one platform through each stage (parse, validate,
//! resolve, render), and `generate`'s plan over a directory of platform files.
//! Run with `cargo bench --bench pipeline`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meshgen::model::load::{self, Source, BUILTIN_PLATFORMS};

fn kvm() -> Source {
    Source::builtin("kvm").unwrap()
}

fn stages(c: &mut Criterion) {
    let source = kvm();
    let mut group = c.benchmark_group("kvm");
    group.bench_function("parse", |b| {
        b.iter(|| meshgen::yaml::parse(black_box(&source.text)).unwrap())
    });
    group.bench_function("parse+validate", |b| {
        b.iter(|| load::load(black_box(&source), &[]).unwrap())
    });
    let loaded = load::load(&source, &[]).unwrap();
    let version = || meshgen::render::resolve::version_for(None, loaded.file.spec.istio);
    group.bench_function("resolve", |b| {
        b.iter(|| {
            let (v, o) = version();
            meshgen::render::resolve::resolve(black_box(&loaded.file), &loaded.doc, v, o)
        })
    });
    let (v, o) = version();
    let resolved = meshgen::render::resolve::resolve(&loaded.file, &loaded.doc, v, o);
    group.bench_function("render values", |b| {
        b.iter(|| meshgen::render::pipeline::render(black_box(&resolved)).unwrap())
    });
    group.bench_function("all outputs", |b| {
        b.iter(|| {
            meshgen::gitops::generate::platform_outputs(
                black_box(&loaded),
                &resolved,
                "kvm.yaml",
                None,
                std::path::Path::new("generated/kvm"),
            )
            .unwrap()
        })
    });
    group.finish();
}

/// `n` platform files: the built-ins in turn, each under its own name.
fn fleet(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let (name, text) = BUILTIN_PLATFORMS[i % BUILTIN_PLATFORMS.len()];
        let text = text.replace(
            &format!("  name: {name}\n"),
            &format!("  name: {name}-{i:05}\n"),
        );
        std::fs::write(dir.join(format!("{name}-{i:05}.yaml")), text).unwrap();
    }
}

fn generate_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate plan");
    group.sample_size(10);
    for n in [100, 1000] {
        let tmp = tempfile::tempdir().unwrap();
        let platforms = tmp.path().join("platforms");
        fleet(&platforms, n);
        let out = tmp.path().join("generated");
        group.throughput(Throughput::Elements(n as u64));
        // Nothing generated yet: every file is rendered and kept as a change.
        group.bench_with_input(BenchmarkId::new("fresh", n), &n, |b, _| {
            b.iter(|| {
                meshgen::gitops::generate::plan(&platforms, &out, Default::default(), false)
                    .unwrap()
            })
        });
        let mut plan =
            meshgen::gitops::generate::plan(&platforms, &out, Default::default(), false).unwrap();
        meshgen::gitops::generate::apply(&mut plan).unwrap();
        // Up to date: rendered and compared, nothing kept.
        group.bench_with_input(BenchmarkId::new("current", n), &n, |b, _| {
            b.iter(|| {
                let plan =
                    meshgen::gitops::generate::plan(&platforms, &out, Default::default(), true)
                        .unwrap();
                assert!(plan.changes.is_empty());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, stages, generate_plan);
criterion_main!(benches);
