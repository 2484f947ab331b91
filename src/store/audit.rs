//! The audit log: an append-only list of who looked at corruption complaints and who
//! changed any case, each entry carrying the SHA-256 of the one before, so that an entry
//! removed or edited afterwards breaks the chain (`tambon audit verify`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::store::{decode, encode, keys, Error, Result, Store, RECORD_VERSION};

/// What to write in the log; the store adds the sequence number and the hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditNote {
    /// Who: a role and a keyed hash of the chat identity, or `cli`.
    pub actor: String,
    /// `view`, `status`, `answer`…
    pub action: String,
    pub case_code: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub v: u8,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub case_code: String,
    pub detail: String,
    /// Hex SHA-256 of the previous entry (all zeros for the first).
    pub prev: String,
    /// Hex SHA-256 of this entry's fields and `prev`.
    pub hash: String,
}

/// What `verify` found.
#[derive(Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub n_entries: u64,
    /// The first entry that does not fit the chain, and why.
    pub broken: Option<(u64, String)>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HEAD_KEY: &[u8] = b"audit_head";

fn entry_hash(entry: &AuditEntry) -> String {
    let mut hasher = Sha256::new();
    for field in [
        entry.seq.to_string(),
        entry.at.to_rfc3339(),
        entry.actor.clone(),
        entry.action.clone(),
        entry.case_code.clone(),
        entry.detail.clone(),
        entry.prev.clone(),
    ] {
        // Length-prefixed, so that no two different entries hash the same fields.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends notes inside a transaction (`meta` holds the chain's head).
pub(crate) fn append(
    meta: &TransactionalTree,
    log: &TransactionalTree,
    notes: &[AuditNote],
    at: DateTime<Utc>,
) -> std::result::Result<(), ConflictableTransactionError<Error>> {
    for note in notes {
        let (last_seq, prev) = match meta.get(HEAD_KEY)? {
            Some(head) => {
                let head = String::from_utf8_lossy(&head).into_owned();
                let (seq, hash) = head.split_once(':').unwrap_or(("0", GENESIS));
                (seq.parse::<u64>().unwrap_or(0), hash.to_owned())
            }
            None => (0, GENESIS.to_owned()),
        };
        let mut entry = AuditEntry {
            v: RECORD_VERSION,
            seq: last_seq + 1,
            at,
            actor: note.actor.clone(),
            action: note.action.clone(),
            case_code: note.case_code.clone(),
            detail: note.detail.clone(),
            prev,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        log.insert(
            &keys::id(entry.seq),
            encode(&entry).map_err(ConflictableTransactionError::Abort)?,
        )?;
        meta.insert(HEAD_KEY, format!("{}:{}", entry.seq, entry.hash).as_bytes())?;
    }
    Ok(())
}

impl Store {
    /// Appends notes on their own (a view, from the CLI).
    pub fn audit(&self, notes: &[AuditNote]) -> Result<()> {
        use sled::Transactional as _;
        let at = Utc::now();
        (&self.meta, &self.auditseq_entry)
            .transaction(|(meta, log)| append(meta, log, notes, at))
            .map_err(|error| match error {
                sled::transaction::TransactionError::Abort(error) => error,
                sled::transaction::TransactionError::Storage(error) => Error::Sled(error),
            })
    }

    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.auditseq_entry
            .iter()
            .map(|entry| decode("auditseq_entry", &entry?.1))
            .collect()
    }

    /// Walks the chain: every entry must hash to what it says, follow its predecessor
    /// without a gap, and the last must be the recorded head.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        let mut prev = GENESIS.to_owned();
        let mut expected_seq = 1;
        for entry in self.audit_entries()? {
            let broken = if entry.seq != expected_seq {
                Some(format!("entry {expected_seq} is missing"))
            } else if entry.prev != prev {
                Some("it does not follow the entry before it".to_owned())
            } else if entry_hash(&entry) != entry.hash {
                Some("its content was changed".to_owned())
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(AuditReport {
                    n_entries: expected_seq - 1,
                    broken: Some((entry.seq, reason)),
                });
            }
            prev = entry.hash.clone();
            expected_seq += 1;
        }
        let head = self
            .meta
            .get(HEAD_KEY)?
            .map(|h| String::from_utf8_lossy(&h).into_owned());
        let last = expected_seq - 1;
        if let Some(head) = head {
            if head != format!("{last}:{prev}") {
                return Ok(AuditReport {
                    n_entries: last,
                    broken: Some((last + 1, "entries after it were removed".to_owned())),
                });
            }
        }
        Ok(AuditReport {
            n_entries: last,
            broken: None,
        })
    }

    /// For tests of `verify_audit`: rewrites an entry as an attacker would.
    #[doc(hidden)]
    pub fn tamper_audit_entry(&self, entry: &AuditEntry) -> Result<()> {
        self.auditseq_entry
            .insert(keys::id(entry.seq), encode(entry)?)?;
        Ok(())
    }

    #[doc(hidden)]
    pub fn remove_audit_entry(&self, seq: u64) -> Result<()> {
        self.auditseq_entry.remove(keys::id(seq))?;
        Ok(())
    }
}
