//! regpoke
fn main() {}
