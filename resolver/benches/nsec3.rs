//! NSEC3 hashing cost by iteration count (RFC 5155 §5, RFC 9276 §3.2).
//!
//! One hash of a typical owner name with an 8-octet salt at 0, 10, 100 and
//! 150 iterations (150 is `Limits::max_nsec3_iterations`). A proof costs up to
//! `Limits::max_nsec3_hashes` of these (CVE-2023-50868).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use danebound_resolver::validator::denial::nsec3::nsec3_hash;
use danebound_resolver::wire::Name;

fn nsec3_hash_by_iterations(c: &mut Criterion) {
    let name = Name::from_ascii("www.example.com.").expect("valid name");
    let salt = [0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04];
    let mut group = c.benchmark_group("nsec3_hash");
    for iterations in [0u16, 10, 100, 150] {
        group.bench_with_input(
            BenchmarkId::from_parameter(iterations),
            &iterations,
            |b, &iterations| b.iter(|| nsec3_hash(black_box(&name), black_box(&salt), iterations)),
        );
    }
    group.finish();
}

criterion_group!(benches, nsec3_hash_by_iterations);
criterion_main!(benches);
