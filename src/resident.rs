//! What the process keeps resident once it has started: the program's read-only data is
//! handed back after the knowledge is built.
//!
//! Most of that data is kham-core's word list (a 5 MB double-array trie) and its word
//! frequencies, compiled into the binary and read once, when the segmenter is built:
//! kham-core copies them into its own structures. Their pages would stay counted in the
//! resident set until the kernel runs short of memory (7 MB of the 69 MiB the server held
//! after `benches/line_webhook`). They are clean pages of the executable file, so
//! dropping them loses nothing: the little read-only data still used (string constants,
//! tables) is read back from the file as it is touched.

/// Drops this process's resident pages of the executable's read-only data (its private,
/// read-only mappings that hold no page of the process's own). Returns how many bytes of
/// mappings were handed back. On other systems than Linux it does nothing.
pub fn hand_back_read_only_data() -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let exe = std::fs::read_link("/proc/self/exe")?;
        let smaps = std::fs::read_to_string("/proc/self/smaps")?;
        let mut handed_back = 0;
        for mapping in clean_read_only_mappings(&smaps, &exe.to_string_lossy()) {
            // SAFETY: the range is a whole private mapping of the executable file that is
            // read-only and holds no anonymous page (none was ever written, relocations
            // included: those live in mappings that do hold anonymous pages, and are
            // skipped). Dropping such pages changes no byte the program can read; the
            // next read faults the page back in from the file.
            let rc = unsafe {
                libc::madvise(
                    mapping.start as *mut libc::c_void,
                    mapping.end - mapping.start,
                    libc::MADV_DONTNEED,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
            handed_back += mapping.end - mapping.start;
        }
        Ok(handed_back)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
}

/// The mappings of `path` in `smaps` (/proc/PID/smaps) that are private and read-only
/// (`r--p`) and hold no anonymous page.
fn clean_read_only_mappings(smaps: &str, path: &str) -> Vec<Mapping> {
    let mut found = Vec::new();
    // The mapping whose fields are being read, if it is one of `path`'s `r--p`.
    let mut current: Option<Mapping> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-') {
            // A mapping's header: range, permissions, offset, device, inode, path.
            let perms = fields.next();
            let mapped = fields.nth(3);
            current = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(start), Ok(end)) if perms == Some("r--p") && mapped == Some(path) => {
                    Some(Mapping { start, end })
                }
                _ => None,
            };
        } else if first == "Anonymous:" {
            if let Some(mapping) = current.take() {
                if fields.next() == Some("0") {
                    found.push(mapping);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_mappings_of_the_program_are_chosen() {
        let smaps = "\
55d0c0000000-55d0c0700000 r--p 00000000 fe:00 42                         /srv/tambon
Rss:                6896 kB
Anonymous:             0 kB
55d0c0700000-55d0c1000000 r-xp 00700000 fe:00 42                         /srv/tambon
Rss:                8032 kB
Anonymous:             0 kB
55d0c1000000-55d0c1042000 r--p 01000000 fe:00 42                         /srv/tambon
Rss:                 264 kB
Anonymous:           264 kB
55d0c1042000-55d0c1047000 rw-p 01042000 fe:00 42                         /srv/tambon
Anonymous:            20 kB
7f0000000000-7f0000100000 r--p 00000000 fe:00 7                          /usr/lib/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 r--p 00000000 00:00 0 
Anonymous:             0 kB
";
        assert_eq!(
            clean_read_only_mappings(smaps, "/srv/tambon"),
            vec![Mapping {
                start: 0x55d0_c000_0000,
                end: 0x55d0_c070_0000
            }],
            "the code, the relocated data, the writable data, a library and anonymous memory are left"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn read_only_data_handed_back_reads_the_same() {
        // The built-in word list, read from the program's read-only data.
        let words = || {
            let dict = kham_core::dict::builtin_dict();
            ["การ", "ทุจริต", "งบประมาณ", "xyz"].map(|word| dict.contains(word))
        };
        let before = words();
        assert_eq!(before, [true, true, true, false]);
        let resident_before = read_only_data_resident_kib();
        let handed_back = hand_back_read_only_data().expect("madvise");
        let resident_after = read_only_data_resident_kib();
        assert!(handed_back > 1_000_000, "{handed_back} bytes handed back");
        // Other tests run meanwhile and read some of it back.
        assert!(
            resident_after < resident_before / 2,
            "resident: {resident_before} KiB before, {resident_after} KiB after"
        );
        assert_eq!(words(), before, "the word list reads differently");
    }

    /// The resident KiB of the program's read-only data (`r--p` mappings).
    #[cfg(target_os = "linux")]
    fn read_only_data_resident_kib() -> usize {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut in_read_only_data = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.first().is_some_and(|first| first.contains('-')) {
                in_read_only_data =
                    fields.get(1) == Some(&"r--p") && fields.get(5) == Some(&exe.as_ref());
            } else if in_read_only_data && fields.first() == Some(&"Rss:") {
                kib += fields[1].parse::<usize>().unwrap();
            }
        }
        kib
    }
}
