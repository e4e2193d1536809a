use danebound_tests::lab::{Lab, LabOptions};
#[test]
#[ignore]
fn lab_shell() {
    let opts = LabOptions {
        oracle: false,
        extra_records: vec![(
            "example.test.".into(),
            std::fs::read_to_string("/tmp/extra.txt").unwrap_or_default(),
        )],
        ..LabOptions::default()
    };
    let lab = Lab::start_with(opts).unwrap();
    std::fs::write(
        "/tmp/lab-info",
        format!(
            "{} {} {}\n",
            lab.upstream().unwrap(),
            lab.trust_anchor_file().display(),
            lab.address(20)
        ),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1500));
}
