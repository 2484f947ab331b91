//! Who a chat identity is to the office: a resident by default, or enrolled as a village
//! head, a division's staff, the integrity officer or an admin.

use serde::{Deserialize, Serialize};

use crate::domain::case::{Case, CaseKind};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    #[default]
    Resident,
    VillageHead {
        village: u32,
    },
    Staff {
        division: String,
    },
    IntegrityOfficer,
    Admin,
}

impl Role {
    /// Whether the role works cases (staff, integrity officer, admin).
    #[must_use]
    pub fn works_cases(&self) -> bool {
        matches!(
            self,
            Self::Staff { .. } | Self::IntegrityOfficer | Self::Admin
        )
    }

    /// Whether the role sees every division's cases (the integrity officer, admins).
    #[must_use]
    pub fn sees_all(&self) -> bool {
        matches!(self, Self::IntegrityOfficer | Self::Admin)
    }

    /// Staff see their division's cases; the integrity officer and admins see all.
    /// Corruption complaints are never shown to a division's staff.
    #[must_use]
    pub fn can_see(&self, case: &Case) -> bool {
        match self {
            Self::Staff { division } => {
                case.kind != CaseKind::Corruption && case.concerns_division(division)
            }
            Self::IntegrityOfficer | Self::Admin => true,
            Self::Resident | Self::VillageHead { .. } => false,
        }
    }

    /// Whether the reporter of `case` may be shown: for a corruption complaint, to the
    /// integrity officer alone.
    #[must_use]
    pub fn sees_reporter(&self, case: &Case) -> bool {
        if case.kind == CaseKind::Corruption {
            return *self == Self::IntegrityOfficer;
        }
        self.can_see(case)
    }

    /// A short name for logs, the audit log and the CLI.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Resident => "resident".to_owned(),
            Self::VillageHead { village } => format!("village_head({village})"),
            Self::Staff { division } => format!("staff({division})"),
            Self::IntegrityOfficer => "integrity_officer".to_owned(),
            Self::Admin => "admin".to_owned(),
        }
    }
}
