//! The resident-facing texts, from Fluent files under `locales/<lang>/*.ftl`.

use std::path::Path;

use anyhow::Context as _;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::domain::Lang;

/// Both languages' message bundles, loaded once at start-up.
pub struct Locales {
    th: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl Locales {
    /// Loads `dir/th/*.ftl` and `dir/en/*.ftl`; fails on a syntax error or a message id
    /// defined in one language and missing in the other.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let th = load_bundle(&dir.join("th"), "th")?;
        let en = load_bundle(&dir.join("en"), "en")?;
        Ok(Self { th, en })
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Th => &self.th,
            Lang::En => &self.en,
        }
    }

    /// The message `id` in `lang`. A missing message shows its id rather than failing:
    /// a resident still gets an answer, and the tests catch the gap.
    #[must_use]
    pub fn text(&self, lang: Lang, id: &str) -> String {
        self.format(lang, id, None)
    }

    #[must_use]
    pub fn text_with(&self, lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(*value));
        }
        self.format(lang, id, Some(&fluent_args))
    }

    fn format(&self, lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, lang = lang.code(), "missing locale message");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(id, ?errors, "locale message formatted with errors");
        }
        text.into_owned()
    }
}

fn load_bundle(dir: &Path, lang: &str) -> anyhow::Result<FluentBundle<FluentResource>> {
    let langid = lang
        .parse()
        .with_context(|| format!("bad language id {lang}"))?;
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Unicode isolation marks would end up in chat bubbles as invisible characters.
    bundle.set_use_isolating(false);
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read locale folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
        .collect();
    paths.sort();
    anyhow::ensure!(!paths.is_empty(), "no .ftl files in {}", dir.display());
    for path in paths {
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let resource = FluentResource::try_new(source).map_err(|(_, errors)| {
            anyhow::anyhow!("syntax errors in {}: {errors:?}", path.display())
        })?;
        bundle.add_resource(resource).map_err(|errors| {
            anyhow::anyhow!("duplicate messages in {}: {errors:?}", path.display())
        })?;
    }
    Ok(bundle)
}
