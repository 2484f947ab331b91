//! The staff dashboard end to end in headless Chromium (WebDriver): a staff member logs
//! in, finds a resident's complaint in the queue, answers it, changes its status and logs
//! out; the resident then sees the answer and the status when following the case.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test fails.

use std::path::Path;

use anyhow::{ensure, Context as _};
use tambon::domain::role::Role;
use tambon::domain::Lang;
use tambon::locales::Locales;

use crate::helpers::{code_in, reopen, Resident, TestApp};
use crate::webdriver::Browser;

const USERNAME: &str = "somchai";
const PASSWORD: &str = "correct horse battery";
const ANSWER: &str = "ช่างจะเข้าซ่อมไฟถนนหน้าวัดพรุ่งนี้เช้าครับ";

fn locales() -> Locales {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Locales::load(&root.join("locales")).expect("the locales load")
}

/// The Thai label residents and staff see for `status` (`status-*` in locales/th).
fn status_label(status: &str) -> String {
    let label = locales().text(Lang::Th, &format!("status-{status}"));
    assert_ne!(
        label,
        format!("status-{status}"),
        "no Thai label for {status}"
    );
    label
}

/// At most `n` characters of `text`, for failure messages.
fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[tokio::test]
async fn staff_answer_and_move_a_case_in_the_browser_and_the_resident_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        tambon::dashboard::add_user(
            &store,
            USERNAME,
            PASSWORD,
            &Role::Staff {
                division: "engineering".to_owned(),
            },
        )
        .expect("the dashboard user is added");
    }
    let app = TestApp::spawn(dir.path(), None).await;

    // A resident complains about a road (the engineering division's category).
    let resident = Resident::new(&app, "dashboard-resident");
    resident.tap("complain").await;
    resident.tap("cat:roads").await;
    resident.text("ไฟถนนหน้าวัดดับทั้งซอย").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    let code = code_in(&resident.tap("confirm").await);
    assert!(code.starts_with("CP-"), "{code}");

    // The session cookie is `Secure`: Chromium keeps it over plain http for localhost only.
    let base = app.address.replace("127.0.0.1", "localhost");
    let browser = Browser::start().await.expect("the browser starts");
    if let Err(error) = work_the_case(&browser, &base, &code).await {
        let url = browser.current_url().await.unwrap_or_default();
        let text = browser
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .unwrap_or_default();
        let source = browser.page_source().await.unwrap_or_default();
        panic!(
            "{error:#}\n--- the browser is on {url}, showing {}\n--- its HTML: {}",
            cut(text.as_str().unwrap_or_default(), 1_000),
            cut(&source, 4_000)
        );
    }
    browser.close().await.unwrap();

    // The resident follows the case (the web chat has no push) and sees both changes.
    let in_progress = status_label("in_progress");
    resident.tap("follow").await;
    let seen = resident.text(&code).await;
    assert!(seen.contains(&format!("== {code} ==")), "{seen}");
    let answered = locales().text_with(Lang::Th, "timeline-staff-answer", &[("text", ANSWER)]);
    assert!(seen.contains(&answered), "the staff answer: {seen}");
    let moved = locales().text_with(Lang::Th, "timeline-status", &[("status", &in_progress)]);
    assert!(
        seen.contains(&moved),
        "the status change in the timeline: {seen}"
    );
    assert!(
        seen.contains(&format!("สถานะ: {in_progress}")),
        "the new status: {seen}"
    );
    app.stop().await;
}

/// The staff member's part, in the browser: log in, find, answer, move, log out.
async fn work_the_case(browser: &Browser, base: &str, code: &str) -> anyhow::Result<()> {
    // Log in.
    browser.goto(&format!("{base}/staff/login")).await?;
    browser.wait_for("form#login").await?;
    let username = browser.find("#username").await?;
    browser.type_into(&username, USERNAME).await?;
    let password = browser.find("#password").await?;
    let kind = browser.attribute(&password, "type").await?;
    ensure!(
        kind.as_deref() == Some("password"),
        "#password has type {kind:?}"
    );
    browser.type_into(&password, PASSWORD).await?;
    browser
        .click_to_navigate(&browser.find("#login-submit").await?)
        .await?;
    if let Err(error) = browser.wait_for_path("/staff/queue").await {
        let flash = match browser.find("#flash").await {
            Ok(flash) => browser.text_of(&flash).await?,
            Err(_) => "(no #flash)".to_owned(),
        };
        return Err(error.context(format!("the login did not reach the queue; flash: {flash}")));
    }

    // The queue lists the case.
    browser.wait_for("table#queue").await?;
    let row_css = format!("table#queue tr.case-row[data-code=\"{code}\"]");
    let row = browser
        .wait_for(&row_css)
        .await
        .with_context(|| format!("{code} is not in the queue"))?;
    let row_text = browser.text_of(&row).await?;
    ensure!(
        row_text.contains(code),
        "the row of {code} does not show its code: {row_text}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shot = root.join("target/screenshots/staff-queue.png");
    browser.screenshot(&shot).await?;
    fits_a_phone(browser, "the queue").await?;

    // Open the case.
    let link = browser.find(&format!("{row_css} a.case-link")).await?;
    let href = browser.attribute(&link, "href").await?;
    let case_path = format!("/staff/cases/{code}");
    ensure!(
        href.as_deref() == Some(case_path.as_str()),
        "the case link goes to {href:?}"
    );
    browser.click_to_navigate(&link).await?;
    browser.wait_for_path(&case_path).await?;
    let heading = browser.wait_for("h1#case-code").await?;
    let heading = browser.text_of(&heading).await?;
    ensure!(heading.contains(code), "#case-code shows {heading:?}");
    let status = browser
        .text_of(&browser.find("#case-status").await?)
        .await?;
    let received = status_label("received");
    ensure!(
        status.trim() == received,
        "#case-status shows {status:?}, expected {received:?}"
    );

    // Answer the resident.
    let reply = browser.find("form#reply #reply-text").await?;
    browser.type_into(&reply, ANSWER).await?;
    browser
        .click_to_navigate(&browser.find("#reply-submit").await?)
        .await?;
    browser.wait_for_path(&case_path).await?;
    let flash = browser
        .wait_for("#flash")
        .await
        .context("after answering")?;
    let flash = browser.text_of(&flash).await?;
    ensure!(!flash.trim().is_empty(), "an empty #flash after answering");
    let thread = browser
        .text_of(&browser.wait_for("ol#thread").await?)
        .await?;
    ensure!(
        thread.contains(ANSWER),
        "#thread does not show the answer: {thread}"
    );

    // Move it to in progress.
    browser
        .select_option("form#status #status-select", "in_progress")
        .await?;
    browser
        .click_to_navigate(&browser.find("#status-submit").await?)
        .await?;
    browser.wait_for_path(&case_path).await?;
    let flash = browser
        .wait_for("#flash")
        .await
        .context("after the status change")?;
    let flash = browser.text_of(&flash).await?;
    ensure!(
        !flash.trim().is_empty(),
        "an empty #flash after the status change"
    );
    let status = browser
        .text_of(&browser.wait_for("#case-status").await?)
        .await?;
    let in_progress = status_label("in_progress");
    ensure!(
        status.trim() == in_progress,
        "#case-status shows {status:?}, expected {in_progress:?}"
    );

    browser
        .screenshot(&root.join("target/screenshots/staff-case.png"))
        .await?;
    fits_a_phone(browser, "the case page").await?;

    // Log out: the queue now leads back to the login page.
    browser
        .click_to_navigate(&browser.find("form#logout #logout-submit").await?)
        .await?;
    browser.wait_for_path("/staff/login").await?;
    browser.goto(&format!("{base}/staff/queue")).await?;
    browser
        .wait_for_path("/staff/login")
        .await
        .context("/staff/queue after logging out")?;
    browser.wait_for("form#login").await?;
    ensure!(
        browser.find_all("table#queue").await?.is_empty(),
        "the queue is shown after logging out"
    );

    // The web chat's script runs under the page's Content Security Policy (which allows
    // it by its hash only): a question typed there is answered.
    browser.goto(&format!("{base}/")).await?;
    let input = browser.wait_for("#msg").await?;
    browser.type_into(&input, "คะแนนโอไอทีเท่าไหร่").await?;
    browser.click(&browser.find("#send").await?).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let source = browser.page_source().await?;
        if source.contains("37.50") {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the web chat did not answer under its CSP: {source}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The page fits the phone-sized window (390 px) with no sideways scrolling: staff
/// work the queue from their phones.
async fn fits_a_phone(browser: &Browser, page: &str) -> anyhow::Result<()> {
    let widths = browser
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth];",
            vec![],
        )
        .await?;
    let viewport = widths[0].as_u64().context("the viewport width")?;
    let content = widths[1].as_u64().context("the page width")?;
    ensure!(
        viewport == 390,
        "{page}: the window is {viewport} px wide, not a phone's 390"
    );
    ensure!(
        content <= viewport,
        "{page} is {content} px wide in a {viewport} px window: it scrolls sideways"
    );
    Ok(())
}
