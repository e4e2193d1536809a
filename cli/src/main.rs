//! The `danebound` command.

fn main() {
    println!("danebound {}", env!("CARGO_PKG_VERSION"));
}
