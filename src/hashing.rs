//! Argon2id with its working memory mapped for each hash and unmapped right after.
//!
//! A hash takes 19 MiB. Allocated with `malloc`, glibc keeps such blocks in its arenas
//! once one has been freed (it raises its mmap threshold), so a burst of parallel logins
//! left the server at 511 MiB for good. Mapped and unmapped here, the memory goes back
//! to the system as each hash ends, and nothing else in the process is affected.

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

/// Hashes `pwd` with `salt` into `out`, as `Argon2::hash_password_into` does.
pub fn hash_into(
    argon2: &Argon2<'_>,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let mut memory = Memory::new(argon2.params().block_count());
    argon2.hash_password_into_with_memory(pwd, salt, out, memory.blocks())
}

/// Whether `password` matches the PHC string `phc` (an Argon2 hash with its parameters
/// and salt), compared in constant time.
#[must_use]
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if hash_into(&argon2, password.as_bytes(), salt, &mut computed).is_err() {
        return false;
    }
    use subtle::ConstantTimeEq as _;
    bool::from(computed.ct_eq(expected))
}

/// Memory for `n` blocks: mapped anonymous pages where the system has them, else a
/// vector.
enum Memory {
    #[cfg(unix)]
    Mapped {
        ptr: *mut Block,
        n_blocks: usize,
    },
    Allocated(Vec<Block>),
}

impl Memory {
    fn new(n_blocks: usize) -> Self {
        #[cfg(unix)]
        {
            let n_bytes = n_blocks * std::mem::size_of::<Block>();
            // SAFETY: an anonymous private mapping of `n_bytes`, checked below; its pages
            // are zeroed, and a zeroed `Block` is a valid one (it is `[u64; 128]`).
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    n_bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr != libc::MAP_FAILED && n_bytes > 0 {
                return Self::Mapped {
                    ptr: ptr.cast::<Block>(),
                    n_blocks,
                };
            }
        }
        Self::Allocated(vec![Block::default(); n_blocks])
    }

    fn blocks(&mut self) -> &mut [Block] {
        match self {
            #[cfg(unix)]
            // SAFETY: the mapping holds `n_blocks` blocks, page-aligned (more than a
            // block's alignment), and lives as long as `self`.
            Self::Mapped { ptr, n_blocks } => unsafe {
                std::slice::from_raw_parts_mut(*ptr, *n_blocks)
            },
            Self::Allocated(blocks) => blocks,
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Self::Mapped { ptr, n_blocks } = self {
            let n_bytes = *n_blocks * std::mem::size_of::<Block>();
            // SAFETY: the mapping made in `new`, unmapped once.
            unsafe {
                libc::munmap(ptr.cast::<libc::c_void>(), n_bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, SaltString};

    use super::*;

    #[test]
    fn verifies_what_the_argon2_crate_hashed() {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let phc = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a phc string"));
    }

    #[test]
    fn hashes_as_the_argon2_crate_does() {
        let params = Params::new(1024, 2, 1, Some(32)).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut ours = [0u8; 32];
        let mut theirs = [0u8; 32];
        hash_into(
            &argon2,
            b"1234567890123456",
            b"installation-salt",
            &mut ours,
        )
        .unwrap();
        argon2
            .hash_password_into(b"1234567890123456", b"installation-salt", &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs);
    }
}
