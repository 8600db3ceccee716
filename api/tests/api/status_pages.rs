//! Status pages: the management API behind the key (create, list, read,
//! replace, patch, delete), its validation, unique slugs and domains under
//! concurrency, sections that follow deleted components, and the audit log.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, invalid_fields, spawn_app, TestApp};

const PAGES: &str = "/api/v1/status-pages";

/// Creates a status page and returns its JSON.
async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.post(PAGES, &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "create status page failed: {json}");
    json
}

/// A minimal valid page body.
fn page(slug: &str) -> Value {
    json!({"slug": slug, "title": "Acme status", "sections": [{"name": "Core"}]})
}

/// Creates a component and returns its id.
async fn component(app: &TestApp, body: Value) -> String {
    let response = app.post("/api/v1/components", &body).await;
    assert_eq!(response.status(), 201);
    let json: Value = response.json().await.unwrap();
    json["id"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn page_path(page: &Value) -> String {
    format!("{PAGES}/{}", page["id"].as_str().unwrap())
}

/// The message of the 422 detail for `field`.
fn reason(body: &Value, field: &str) -> String {
    body["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["field"] == field)
        .map(|d| d["message"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn status_pages_are_created_read_replaced_patched_and_deleted() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    let web = component(&app, json!({"name": "Website"})).await;
    let response = app
        .post(
            PAGES,
            &json!({
                "slug": "acme", "title": " Acme status ", "description": "Everything Acme runs",
                "logoUrl": "https://acme.example/logo.svg", "homepageUrl": "http://acme.example",
                "published": true,
                "sections": [
                    {"name": "Core", "componentIds": [web, api]},
                    {"name": "Later", "componentIds": []}
                ],
                "uptimeDays": 30, "historyDays": 60, "footerText": "Questions: ops@acme.example",
                "theme": "dark", "customDomain": "Status.Acme.Example", "showMonitorDetails": true
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, page_path(&created));
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["url"], "/status/acme");
    assert_eq!(created["title"], "Acme status");
    assert_eq!(created["description"], "Everything Acme runs");
    assert_eq!(created["logoUrl"], "https://acme.example/logo.svg");
    assert_eq!(created["homepageUrl"], "http://acme.example");
    assert_eq!(created["published"], true);
    assert_eq!(
        created["sections"],
        json!([
            {"name": "Core", "componentIds": [web, api]},
            {"name": "Later", "componentIds": []}
        ]),
        "sections and their components keep the order given"
    );
    assert_eq!(created["uptimeDays"], 30);
    assert_eq!(created["historyDays"], 60);
    assert_eq!(created["footerText"], "Questions: ops@acme.example");
    assert_eq!(created["theme"], "dark");
    assert_eq!(
        created["customDomain"], "status.acme.example",
        "host names are stored lowercase"
    );
    assert_eq!(created["showMonitorDetails"], true);
    for field in ["id", "createdAt", "updatedAt"] {
        assert!(created[field].is_string(), "{field}");
    }
    assert_eq!(read(&app, &location).await, created);

    let replaced: Value = app
        .put(&location, &page("acme-cloud"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["slug"], "acme-cloud");
    assert_eq!(replaced["url"], "/status/acme-cloud");
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["createdAt"], created["createdAt"]);
    assert_ne!(replaced["updatedAt"], created["updatedAt"]);
    for field in [
        "description",
        "logoUrl",
        "homepageUrl",
        "footerText",
        "customDomain",
    ] {
        assert!(
            replaced[field].is_null(),
            "PUT replaces the whole body: {field}"
        );
    }
    assert_eq!(replaced["published"], false, "pages start unpublished");
    assert_eq!(replaced["uptimeDays"], 90);
    assert_eq!(replaced["historyDays"], 14);
    assert_eq!(replaced["theme"], "auto");
    assert_eq!(replaced["showMonitorDetails"], false);
    assert_eq!(
        replaced["sections"],
        json!([{"name": "Core", "componentIds": []}])
    );

    let patched: Value = app
        .patch(
            &location,
            &json!({"published": true, "footerText": "Hi", "sections": [
                {"name": "Everything", "componentIds": [api]}
            ]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched["slug"], "acme-cloud",
        "a merge patch keeps what it does not name"
    );
    assert_eq!(patched["title"], "Acme status");
    assert_eq!(patched["published"], true);
    assert_eq!(patched["footerText"], "Hi");
    assert_eq!(
        patched["sections"],
        json!([{"name": "Everything", "componentIds": [api]}]),
        "a patch replaces the sections as a whole"
    );
    let cleared: Value = app
        .patch(&location, &json!({"footerText": null, "theme": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(cleared["footerText"].is_null());
    assert_eq!(cleared["theme"], "auto", "null puts a default back");
    assert_eq!(cleared["published"], true);

    assert_eq!(app.delete(&location).await.status(), 204);
    assert_error(app.get(&location).await, 404, "not_found").await;
    let sections: i64 = app
        .db
        .query_one("SELECT count(*) FROM status_page_sections", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sections, 0, "a page's sections go with it");
    let components: i64 = app
        .db
        .query_one("SELECT count(*) FROM components", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(components, 2, "deleting a page leaves its components");
}

#[tokio::test]
async fn unknown_status_pages_are_not_found() {
    let app = spawn_app().await;
    let path = format!("{PAGES}/{}", Uuid::now_v7());
    assert_error(app.get(&path).await, 404, "not_found").await;
    assert_error(app.put(&path, &page("acme")).await, 404, "not_found").await;
    assert_error(
        app.patch(&path, &json!({"title": "x"})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.delete(&path).await, 404, "not_found").await;
    assert_error(
        app.get(&format!("{PAGES}/not-a-uuid")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn status_page_lists_page_in_creation_order_and_filter_by_published() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut body = page(&format!("page-{n}"));
        body["published"] = json!(n % 2 == 0);
        ids.push(create(&app, body).await["id"].clone());
    }
    let first: Value = read(&app, &format!("{PAGES}?limit=2")).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert!(first["nextCursor"].is_string());
    let all = app.collect_pages(&format!("{PAGES}?limit=2")).await;
    let listed: Vec<Value> = all.iter().map(|p| p["id"].clone()).collect();
    assert_eq!(listed, ids, "every page once, in creation order");
    assert_eq!(
        all[0]["sections"],
        json!([{"name": "Core", "componentIds": []}])
    );

    let published = app
        .collect_pages(&format!("{PAGES}?published=true&limit=1"))
        .await;
    let slugs: Vec<&str> = published
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["page-0", "page-2", "page-4"]);
    let drafts = app.collect_pages(&format!("{PAGES}?published=false")).await;
    let slugs: Vec<&str> = drafts.iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["page-1", "page-3"]);

    for query in [
        "?limit=0",
        "?limit=501",
        "?cursor=nonsense",
        "?published=maybe",
        "?slug=page-1",
    ] {
        let response = app.get(&format!("{PAGES}{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
    }
}

#[tokio::test]
async fn every_invalid_field_is_named_with_its_reason() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"slug": null}), "slug", "is required"),
        (json!({"slug": ""}), "slug", "must not be empty"),
        (json!({"slug": "Acme"}), "slug", "lowercase letters"),
        (json!({"slug": "-acme"}), "slug", "hyphen"),
        (json!({"slug": "acme-"}), "slug", "hyphen"),
        (json!({"slug": "ac me"}), "slug", "lowercase letters"),
        (json!({"slug": "acme_co"}), "slug", "lowercase letters"),
        (json!({"slug": "x".repeat(65)}), "slug", "at most 64"),
        (json!({"slug": "api"}), "slug", "is reserved"),
        (json!({"slug": "assets"}), "slug", "is reserved"),
        (json!({"slug": 7}), "slug", "must be a string"),
        (json!({"title": null}), "title", "is required"),
        (json!({"title": "  "}), "title", "must not be empty"),
        (json!({"title": "t".repeat(201)}), "title", "at most 200"),
        (
            json!({"description": "d".repeat(2001)}),
            "description",
            "at most 2000",
        ),
        (
            json!({"footerText": "f".repeat(2001)}),
            "footerText",
            "at most 2000",
        ),
        (
            json!({"footerText": "a\u{0}b"}),
            "footerText",
            "control characters",
        ),
        (
            json!({"logoUrl": "ftp://acme.example/logo.png"}),
            "logoUrl",
            "https://",
        ),
        (
            json!({"logoUrl": "javascript:alert(1)"}),
            "logoUrl",
            "https://",
        ),
        (json!({"logoUrl": "/logo.png"}), "logoUrl", "https://"),
        (
            json!({"logoUrl": "https://acme.example/lo\ngo.png"}),
            "logoUrl",
            "line breaks",
        ),
        (
            json!({"logoUrl": format!("https://acme.example/{}", "a".repeat(2048))}),
            "logoUrl",
            "at most 2048",
        ),
        (
            json!({"homepageUrl": "https://user:pw@acme.example"}),
            "homepageUrl",
            "credentials",
        ),
        (
            json!({"homepageUrl": "acme.example"}),
            "homepageUrl",
            "https://",
        ),
        (json!({"published": "yes"}), "published", "true or false"),
        (
            json!({"showMonitorDetails": 1}),
            "showMonitorDetails",
            "true or false",
        ),
        (json!({"uptimeDays": 45}), "uptimeDays", "one of 30, 60, 90"),
        (
            json!({"uptimeDays": "90"}),
            "uptimeDays",
            "one of 30, 60, 90",
        ),
        (json!({"historyDays": 0}), "historyDays", "from 1 to 365"),
        (json!({"historyDays": 366}), "historyDays", "from 1 to 365"),
        (json!({"historyDays": 1.5}), "historyDays", "from 1 to 365"),
        (
            json!({"theme": "blue"}),
            "theme",
            "one of auto, light, dark",
        ),
        (
            json!({"customDomain": "https://status.acme.example"}),
            "customDomain",
            "without a scheme",
        ),
        (
            json!({"customDomain": "status.acme.example:8443"}),
            "customDomain",
            "without a port",
        ),
        (
            json!({"customDomain": "status.acme.example/x"}),
            "customDomain",
            "without a path",
        ),
        (
            json!({"customDomain": "192.0.2.1"}),
            "customDomain",
            "not an IP address",
        ),
        (
            json!({"customDomain": "localhost"}),
            "customDomain",
            "two labels",
        ),
        (
            json!({"customDomain": "status..example"}),
            "customDomain",
            "two labels",
        ),
        (
            json!({"customDomain": "stat_us.example"}),
            "customDomain",
            "two labels",
        ),
        (
            json!({"customDomain": format!("{}.example", "a".repeat(64))}),
            "customDomain",
            "two labels",
        ),
        (json!({"sections": null}), "sections", "is required"),
        (json!({"sections": []}), "sections", "from 1 to 50"),
        (
            json!({"sections": vec![json!({"name": "s"}); 51]}),
            "sections",
            "from 1 to 50",
        ),
        (
            json!({"sections": {"name": "Core"}}),
            "sections",
            "must be a list",
        ),
        (
            json!({"sections": ["Core"]}),
            "sections",
            "section 1 must be an object",
        ),
        (
            json!({"sections": [{"componentIds": []}]}),
            "sections",
            "section 1: name is required",
        ),
        (
            json!({"sections": [{"name": ""}]}),
            "sections",
            "section 1: name must not be empty",
        ),
        (
            json!({"sections": [{"name": "a"}, {"name": "n".repeat(201)}]}),
            "sections",
            "section 2: name must be at most 200",
        ),
        (
            json!({"sections": [{"name": "a", "componentIds": ["nope"]}]}),
            "sections",
            "entry 1 is not a component id",
        ),
        (
            json!({"sections": [{"name": "a", "componentIds": "nope"}]}),
            "sections",
            "must be a list of component ids",
        ),
        (
            json!({"sections": [{"name": "a", "componentIds": vec![Uuid::nil(); 101]}]}),
            "sections",
            "at most 100 entries",
        ),
        (
            json!({"sections": [{"name": "a", "position": 1}]}),
            "sections",
            "position is not a known field",
        ),
        (json!({"colour": "red"}), "colour", "is not a known field"),
    ];
    for (change, field, expected) in cases {
        let mut body = page("acme");
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        let error = assert_error(app.post(PAGES, &body).await, 422, "validation_failed").await;
        let message = reason(&error, field);
        assert!(
            message.contains(expected),
            "{change}: expected {field} {expected:?}, got {error}"
        );
    }
    for field in ["id", "url", "createdAt", "updatedAt"] {
        let mut body = page("acme");
        body[field] = json!("x");
        let error = assert_error(app.post(PAGES, &body).await, 422, "validation_failed").await;
        assert_eq!(
            error["details"],
            json!([{"field": field, "message": "is read-only"}])
        );
    }
    let error = assert_error(app.post(PAGES, &json!({})).await, 422, "validation_failed").await;
    let mut fields = invalid_fields(&error);
    fields.sort();
    assert_eq!(
        fields,
        ["sections", "slug", "title"],
        "every problem at once"
    );
    assert_error(
        app.post(PAGES, &json!(["acme"])).await,
        422,
        "validation_failed",
    )
    .await;
    let unnamed: i64 = app
        .db
        .query_one("SELECT count(*) FROM status_pages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(unnamed, 0, "nothing refused was stored");

    // The edges that are allowed.
    create(&app, page(&"x".repeat(64))).await;
    create(&app, page("9")).await;
    let mut wide = page("wide");
    wide["sections"] = json!(vec![json!({"name": "s"}); 50]);
    wide["historyDays"] = json!(365);
    wide["uptimeDays"] = json!(60);
    wide["theme"] = json!("light");
    create(&app, wide).await;
}

#[tokio::test]
async fn sections_list_existing_components_each_once() {
    let app = spawn_app().await;
    let group = component(&app, json!({"name": "Data", "group": true})).await;
    let db = component(&app, json!({"name": "Database", "groupId": group})).await;
    let api = component(&app, json!({"name": "API"})).await;
    let ghost = Uuid::now_v7().to_string();

    let with_sections = |sections: Value| {
        let mut body = page("acme");
        body["sections"] = sections;
        body
    };
    let refused = [
        (
            json!([{"name": "Core", "componentIds": [api, ghost]}]),
            format!("no such component: {ghost}"),
        ),
        (
            json!([{"name": "A", "componentIds": [api]}, {"name": "B", "componentIds": [api]}]),
            "section 2: component".to_owned(),
        ),
        (
            json!([{"name": "A", "componentIds": [api, api]}]),
            "already listed in this section".to_owned(),
        ),
        (
            json!([{"name": "A", "componentIds": [group]}, {"name": "B", "componentIds": [db]}]),
            "a group brings its children".to_owned(),
        ),
    ];
    for (sections, expected) in refused {
        let error = assert_error(
            app.post(PAGES, &with_sections(sections.clone())).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            reason(&error, "sections").contains(&expected),
            "{sections}: {error}"
        );
    }
    let created = create(
        &app,
        with_sections(json!([
            {"name": "Data", "componentIds": [group]},
            {"name": "Edge", "componentIds": [api]}
        ])),
    )
    .await;
    assert_eq!(
        created["sections"][0]["componentIds"],
        json!([group]),
        "a group is stored as itself; it brings its children when shown"
    );
    // A patch is checked like a create.
    let error = assert_error(
        app.patch(
            &page_path(&created),
            &json!({"sections": [{"name": "x", "componentIds": [ghost]}]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid_fields(&error), ["sections"]);
}

#[tokio::test]
async fn deleted_components_drop_out_of_sections() {
    let app = spawn_app().await;
    let api = component(&app, json!({"name": "API"})).await;
    let web = component(&app, json!({"name": "Website"})).await;
    let cdn = component(&app, json!({"name": "CDN"})).await;
    let mut body = page("acme");
    body["sections"] = json!([
        {"name": "Core", "componentIds": [api, web]},
        {"name": "Edge", "componentIds": [cdn]}
    ]);
    let created = create(&app, body).await;
    let path = page_path(&created);

    assert_eq!(
        app.delete(&format!("/api/v1/components/{api}"))
            .await
            .status(),
        204,
        "a component on a page can be deleted"
    );
    assert_eq!(
        app.delete(&format!("/api/v1/components/{cdn}"))
            .await
            .status(),
        204
    );
    let shown = read(&app, &path).await;
    assert_eq!(
        shown["sections"],
        json!([
            {"name": "Core", "componentIds": [web]},
            {"name": "Edge", "componentIds": []}
        ]),
        "deleted components are left out; their sections stay"
    );
    let listed = app.collect_pages(PAGES).await;
    assert_eq!(listed[0]["sections"], shown["sections"]);

    let patched: Value = app
        .patch(&path, &json!({"title": "Renamed"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        patched["title"], "Renamed",
        "a page with a deleted component still saves"
    );
    assert_eq!(patched["sections"], shown["sections"]);
}

#[tokio::test]
async fn slugs_and_custom_domains_belong_to_one_page() {
    let app = spawn_app().await;
    let mut first = page("acme");
    first["customDomain"] = json!("status.acme.example");
    let first = create(&app, first).await;

    let error = assert_error(
        app.post(PAGES, &page("acme")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error["details"],
        json!([{"field": "slug", "message": "is taken by another status page"}])
    );
    let mut both = page("acme");
    both["customDomain"] = json!("STATUS.acme.example");
    let error = assert_error(app.post(PAGES, &both).await, 422, "validation_failed").await;
    let mut fields = invalid_fields(&error);
    fields.sort();
    assert_eq!(fields, ["customDomain", "slug"]);

    let second = create(&app, page("beta")).await;
    let error = assert_error(
        app.patch(
            &page_path(&second),
            &json!({"customDomain": "status.acme.example"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        reason(&error, "customDomain"),
        "is taken by another status page"
    );
    let error = assert_error(
        app.put(&page_path(&second), &page("acme")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(reason(&error, "slug"), "is taken by another status page");

    // A page keeps its own slug and domain.
    let kept = app
        .patch(&page_path(&first), &json!({"title": "Acme"}))
        .await;
    assert_eq!(kept.status(), 200);
    // A freed slug can be taken.
    app.patch(
        &page_path(&first),
        &json!({"slug": "acme-old", "customDomain": null}),
    )
    .await;
    let renamed = app
        .patch(
            &page_path(&second),
            &json!({"slug": "acme", "customDomain": "status.acme.example"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
}

#[tokio::test]
async fn concurrent_creates_of_one_slug_or_domain_make_one_page() {
    let app = spawn_app().await;
    for round in 0..5 {
        let slug = format!("race-{round}");
        let body = page(&slug);
        let (a, b) = tokio::join!(app.post(PAGES, &body), app.post(PAGES, &body));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 422], "round {round}");
        let loser = if a.status() == 422 { a } else { b };
        let error = assert_error(loser, 422, "validation_failed").await;
        assert_eq!(reason(&error, "slug"), "is taken by another status page");

        let domain = format!("status-{round}.acme.example");
        let mut x = page(&format!("x-{round}"));
        x["customDomain"] = json!(domain);
        let mut y = page(&format!("y-{round}"));
        y["customDomain"] = json!(domain);
        let (a, b) = tokio::join!(app.post(PAGES, &x), app.post(PAGES, &y));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 422], "round {round}");
        let loser = if a.status() == 422 { a } else { b };
        let error = assert_error(loser, 422, "validation_failed").await;
        assert_eq!(
            reason(&error, "customDomain"),
            "is taken by another status page"
        );
    }
    let pages: i64 = app
        .db
        .query_one("SELECT count(*) FROM status_pages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pages, 10);
    let created: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM audit_logs WHERE action = 'status_page.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(created, 10, "the refused creates left no audit row");
}

#[tokio::test]
async fn a_read_only_key_reads_pages_but_cannot_change_them() {
    let app = spawn_app().await;
    let created = create(&app, page("acme")).await;
    let path = page_path(&created);
    let read_key = app.create_key(&["read"]).await;
    let attempts = [
        (Method::POST, PAGES.to_owned(), page("other")),
        (Method::PUT, path.clone(), page("other")),
        (Method::PATCH, path.clone(), json!({"title": "x"})),
        (Method::DELETE, path.clone(), json!({})),
    ];
    for (method, target, body) in attempts {
        let response = app
            .request_as(&read_key, method.clone(), &target)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, "forbidden").await;
    }
    for target in [path.clone(), PAGES.to_owned()] {
        let response = app
            .request_as(&read_key, Method::GET, &target)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{target}");
    }
    let anonymous = app.anonymous(Method::GET, PAGES).send().await.unwrap();
    assert_error(anonymous, 401, "unauthorized").await;
    assert_eq!(read(&app, &path).await, created, "nothing changed");
}

#[tokio::test]
async fn every_change_to_a_page_writes_an_audit_row() {
    let app = spawn_app().await;
    let key = app.create_key(&["read", "write"]).await;
    let send = |method: Method, path: String, body: Value| {
        let request = app.request_as(&key, method, &path).json(&body);
        async move { request.send().await.unwrap() }
    };
    let created: Value = send(Method::POST, PAGES.into(), page("acme"))
        .await
        .json()
        .await
        .unwrap();
    let path = page_path(&created);
    send(Method::PUT, path.clone(), page("acme-cloud")).await;
    send(Method::PATCH, path.clone(), json!({"published": true})).await;
    // Refused requests change nothing and record nothing.
    send(Method::PATCH, path.clone(), json!({"theme": "blue"})).await;
    send(Method::DELETE, path.clone(), json!({})).await;

    let rows: Vec<(String, String, Option<Value>, Option<Value>)> = app
        .audit_rows()
        .await
        .iter()
        .filter(|row| row.get::<_, String>("entity_type") == "status_page")
        .map(|row| {
            (
                row.get("action"),
                row.get("entity_id"),
                row.get("before"),
                row.get("after"),
            )
        })
        .collect();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "status_page.create",
            "status_page.update",
            "status_page.update",
            "status_page.delete"
        ]
    );
    let id = created["id"].as_str().unwrap();
    assert!(rows.iter().all(|r| r.1 == id));
    let (_, _, before, after) = &rows[0];
    assert!(before.is_none());
    assert_eq!(after.as_ref().unwrap(), &created);
    let (_, _, before, after) = &rows[1];
    assert_eq!(before.as_ref().unwrap()["slug"], "acme");
    assert_eq!(after.as_ref().unwrap()["slug"], "acme-cloud");
    let (_, _, before, after) = &rows[2];
    assert_eq!(before.as_ref().unwrap()["published"], false);
    assert_eq!(after.as_ref().unwrap()["published"], true);
    let (_, _, before, after) = &rows[3];
    assert_eq!(before.as_ref().unwrap()["slug"], "acme-cloud");
    assert!(after.is_none());
}
