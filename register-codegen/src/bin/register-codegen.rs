//! `register-codegen FILE.yaml [-o OUT.rs]`: prints (or writes) the Rust
//! register blocks generated from a register map.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: register-codegen FILE.yaml [-o OUT.rs]\n\nGenerates typed register blocks (Rust, for use with hal-core) from a register map.\nWith -o, writes OUT.rs; otherwise prints to standard output.\nErrors in the map are printed as rustc prints its own (file:line:column, the source line, the place underlined), and exit with status 2.";
    let (input, output) = match args.as_slice() {
        [h] if h == "-h" || h == "--help" => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        [i] => (i, None),
        [i, o, out] if o == "-o" => (i, Some(out)),
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match register_codegen::generate_file(input) {
        Ok(code) => match output {
            None => {
                print!("{code}");
                ExitCode::SUCCESS
            }
            Some(path) => match std::fs::write(path, code) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("writing {path}: {e}");
                    ExitCode::from(1)
                }
            },
        },
        Err(register_codegen::CodegenError::Spec(d)) => {
            eprintln!("{}", register_codegen::render(&d));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
