// Every endpoint of `v2a serve` over real HTTP (httplib::Client -> 127.0.0.1:<ephemeral>): the page
// and assets, sign-in and token, Rate (next / label / skip / undo / balance), Compare, Agreement,
// exports and media, plus what must be refused: traversal, unregistered ids, bad JSON, wrong types,
// missing fields, wrong content type, foreign Host headers. A refusal is always JSON {"error"}.
#include "fixtures.h"
#include "v2a/core/error.h"
#include "v2a/serve/http.h"
#include "v2a/serve/label_store.h"

namespace v2a::serve::test {
namespace {

class HttpTest : public ::testing::Test {
protected:
    v2a::test::TempDir dir;
    std::unique_ptr<RunningServer> server;

    void start(int raters = 2, const std::string& token = "") {
        ServerOptions o;
        o.db = dir / "labels.sqlite";
        o.raters_per_clip = raters;
        o.token = token;
        ClipRegistryOptions r;
        r.manifest = write_clips(dir.path());
        server = std::make_unique<RunningServer>(o, ClipRegistry::load(r));
    }
    json label(httplib::Client& c, const std::string& who, const std::string& clip, const std::string& value,
               int expect = 201) {
        auto r = post_json(c, "/api/labels", {{"annotator", who}, {"clip_id", clip}, {"label", value}, {"response_ms", 1234}});
        EXPECT_EQ(r.status, expect) << r.text;
        return r.body;
    }
};

TEST_F(HttpTest, PageAssetsAndInfo) {
    start();
    auto c = server->client();
    auto page = c.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->body.find("<script src=\"/app.js\">"), std::string::npos);
    EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
    auto js = c.Get("/app.js");
    ASSERT_TRUE(js);
    EXPECT_EQ(js->status, 200);
    EXPECT_EQ(js->get_header_value("Content-Type").rfind("text/javascript", 0), 0u);
    auto css = c.Get("/style.css");
    ASSERT_TRUE(css);
    EXPECT_EQ(css->status, 200);
    auto info = get(c, "/api/info");
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.body["clips"], 7);
    EXPECT_EQ(info.body["groups"], 2);          // a (3 versions) and b (2)
    EXPECT_EQ(info.body["pairs"], 3 + 1);
    EXPECT_EQ(info.body["demo"]["enabled"], false);
    EXPECT_EQ(info.body["token_required"], false);
    auto missing = get(c, "/no/such/page");
    EXPECT_EQ(missing.status, 404);
    EXPECT_FALSE(error_of(missing).empty());
}

TEST_F(HttpTest, LoginValidatesNames) {
    start();
    auto c = server->client();
    auto ok = post_json(c, "/api/login", {{"annotator", "  Ana  "}});
    EXPECT_EQ(ok.status, 200) << ok.text;
    EXPECT_EQ(ok.body["annotator"], "Ana");   // trimmed
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", ""}}).status, 400);
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", std::string(65, 'x')}}).status, 400);
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", "tab\there"}}).status, 400);
    EXPECT_EQ(to_reply(c.Post("/api/login", "{\"annotator\": \"bad\xff utf8\"}", "application/json")).status, 400);
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", 42}}).status, 400);
    EXPECT_EQ(post_json(c, "/api/login", json::object()).status, 400);
    EXPECT_EQ(server->server().store().annotators(), std::vector<std::string>{"Ana"});
}

TEST_F(HttpTest, RateLabelsUndoAndSkip) {
    start(/*raters=*/2);
    auto c = server->client();
    auto next = post_json(c, "/api/rate/next", {{"annotator", "ana"}});
    ASSERT_EQ(next.status, 200) << next.text;
    EXPECT_FALSE(next.body["done"].get<bool>());
    const auto first = next.body["clip"]["id"].get<std::string>();
    EXPECT_EQ(next.body["clip"]["media"], "/media/clip/" + first);
    EXPECT_EQ(next.body["progress"]["rated"], 0);
    EXPECT_EQ(next.body["progress"]["total"], 7);

    auto written = label(c, "ana", first, "Good");   // any case in, lowercase stored
    EXPECT_EQ(written["label"], "good");
    EXPECT_EQ(get(c, "/api/rate/progress?annotator=ana").body["rated"], 1);
    // The same clip again is a conflict, not a second label.
    auto again = post_json(c, "/api/labels", {{"annotator", "ana"}, {"clip_id", first}, {"label", "bad"}});
    EXPECT_EQ(again.status, 409);
    EXPECT_NE(error_of(again).find("already rated"), std::string::npos);
    // The next clip is another one.
    const auto second = post_json(c, "/api/rate/next", {{"annotator", "ana"}}).body["clip"]["id"].get<std::string>();
    EXPECT_NE(second, first);

    // Undo gives the clip back, and it can be rated again.
    auto undo = post_json(c, "/api/labels/undo", {{"annotator", "ana"}});
    ASSERT_EQ(undo.status, 200) << undo.text;
    EXPECT_EQ(undo.body["undone"]["clip_id"], first);
    EXPECT_EQ(undo.body["clip"]["id"], first);
    EXPECT_EQ(undo.body["progress"]["rated"], 0);
    label(c, "ana", first, "medium");
    EXPECT_EQ(post_json(c, "/api/labels/undo", {{"annotator", "bob"}}).status, 404);   // nothing of bob's

    // Skip: not shown again to this annotator.
    const auto skipped = post_json(c, "/api/rate/next", {{"annotator", "ana"}}).body["clip"]["id"].get<std::string>();
    EXPECT_EQ(post_json(c, "/api/rate/skip", {{"annotator", "ana"}, {"clip_id", skipped}}).status, 200);
    EXPECT_NE(post_json(c, "/api/rate/next", {{"annotator", "ana"}}).body["clip"]["id"], skipped);

    const auto labels = server->server().store().labels();
    ASSERT_EQ(labels.size(), 1u);
    EXPECT_EQ(labels[0].clip_id, first);
    EXPECT_EQ(labels[0].label, "medium");
    EXPECT_EQ(labels[0].response_ms, 1234);
    EXPECT_EQ(labels[0].version, server->server().clips().find(first)->version);
    EXPECT_EQ(server->server().store().labels(true).size(), 2u);   // the undone one is kept
}

TEST_F(HttpTest, BalancedAssignmentStopsAtTheRaterTarget) {
    start(/*raters=*/2);
    auto c = server->client();
    // Three annotators rate everything they are given: each clip ends with exactly 2 labels.
    for (const std::string who : {"a1", "a2", "a3"}) {
        for (;;) {
            auto next = post_json(c, "/api/rate/next", {{"annotator", who}});
            ASSERT_EQ(next.status, 200);
            if (next.body["done"].get<bool>()) break;
            label(c, who, next.body["clip"]["id"], "good");
        }
    }
    const auto counts = server->server().store().label_counts();
    ASSERT_EQ(counts.size(), 7u);
    for (const auto& [clip, n] : counts) EXPECT_EQ(n, 2) << clip;
    auto p = get(c, "/api/rate/progress?annotator=a3").body;
    EXPECT_EQ(p["complete"], 7);
    EXPECT_EQ(p["remaining"], 0);
}

TEST_F(HttpTest, RetriedRequestIdIsNotADuplicate) {
    start();
    auto c = server->client();
    const json body{{"annotator", "ana"}, {"clip_id", "c"}, {"label", "bad"}, {"request_id", "r-1"}};
    auto first = post_json(c, "/api/labels", body);
    auto retry = post_json(c, "/api/labels", body);
    EXPECT_EQ(first.status, 201);
    EXPECT_EQ(retry.status, 200);
    EXPECT_TRUE(retry.body["replayed"].get<bool>());
    EXPECT_EQ(retry.body["id"], first.body["id"]);
    auto reused = post_json(c, "/api/labels", {{"annotator", "ana"}, {"clip_id", "d"}, {"label", "bad"}, {"request_id", "r-1"}});
    EXPECT_EQ(reused.status, 409);
    EXPECT_EQ(server->server().store().labels().size(), 1u);
}

TEST_F(HttpTest, MalformedRequestsGet4xxWithAMessage) {
    start();
    auto c = server->client();
    struct Case {
        std::string body, type;
        int status;
    };
    const std::vector<Case> cases = {
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": ", "application/json", 400},   // truncated
        {"not json at all", "application/json", 400},
        {"[1, 2, 3]", "application/json", 400},                                               // not an object
        {"", "application/json", 400},
        {"annotator=ana&clip_id=c&label=good", "application/x-www-form-urlencoded", 415},     // a form post
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": \"great\"}", "application/json", 400},
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\"}", "application/json", 400},            // no label
        {"{\"annotator\": \"ana\", \"clip_id\": 7, \"label\": \"good\"}", "application/json", 400},
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": \"good\", \"response_ms\": -5}", "application/json", 400},
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": \"good\", \"response_ms\": \"fast\"}", "application/json", 400},
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": \"good\", \"response_ms\": 1e300}", "application/json", 400},
        {"{\"annotator\": \"ana\", \"clip_id\": \"nope\", \"label\": \"good\"}", "application/json", 404},
        {"{\"annotator\": \"ana\", \"clip_id\": \"c\", \"label\": \"good\", \"request_id\": \"" + std::string(100, 'r') + "\"}",
         "application/json", 400},
    };
    for (const auto& k : cases) {
        auto r = to_reply(c.Post("/api/labels", k.body, k.type.c_str()));
        EXPECT_EQ(r.status, k.status) << k.body << " -> " << r.text;
        EXPECT_FALSE(error_of(r).empty()) << k.body << " -> " << r.text;
    }
    // A body over the JSON limit is refused before it is parsed.
    auto big = to_reply(c.Post("/api/labels", std::string(200 * 1024, ' '), "application/json"));
    EXPECT_EQ(big.status, 413);
    EXPECT_FALSE(error_of(big).empty());
    EXPECT_EQ(post_json(c, "/api/rate/next", json::object()).status, 400);   // no annotator
    EXPECT_EQ(post_json(c, "/api/rate/next", {{"annotator", ""}}).status, 400);
    // Handing out a clip reserves it: never by GET, which any page could trigger with an <img>.
    EXPECT_EQ(get(c, "/api/rate/next?annotator=ana").status, 404);
    EXPECT_EQ(get(c, "/api/compare/next?annotator=ana").status, 404);
    EXPECT_EQ(to_reply(c.Post("/api/rate/next", "annotator=ana", "application/x-www-form-urlencoded")).status, 415);
    EXPECT_EQ(to_reply(c.Delete("/api/labels")).status, 404);
    EXPECT_TRUE(server->server().store().labels().empty());
    EXPECT_EQ(get(c, "/api/info").status, 200);   // and it is still up
}

TEST_F(HttpTest, MediaOnlyForRegisteredClipsAndNoTraversal) {
    start();
    auto c = server->client();
    auto media = c.Get("/media/clip/a__s1");
    ASSERT_TRUE(media);
    EXPECT_EQ(media->status, 200);
    EXPECT_EQ(media->get_header_value("Content-Type"), "video/mp4");
    EXPECT_EQ(media->body.size(), stdfs::file_size(dir / "clips" / "a__s1.mp4"));
    // Range requests (the browser seeks with them).
    auto part = c.Get("/media/clip/a__s1", {{"Range", "bytes=10-19"}});
    ASSERT_TRUE(part);
    EXPECT_EQ(part->status, 206);
    EXPECT_EQ(part->body, media->body.substr(10, 10));

    fs::write_atomic(dir / "secret.txt", std::string("secret"));
    for (const std::string& path : std::vector<std::string>{
             "/media/clip/../manifest.csv", "/media/clip/..%2Fmanifest.csv", "/media/clip/%2e%2e/%2e%2e/etc/passwd",
          "/media/clip/clips/a__s1.mp4", "/media/clip/" + (dir / "secret.txt").string(), "/media/clip/%2Fetc%2Fpasswd",
          "/media/clip/a__s1.mp4", "/media/clip/a__s1%00", "/media/../manifest.csv", "/manifest.csv",
          "/clips/a__s1.mp4", "/../../etc/passwd", "/media/demo/0123456789abcdef.mp4", "/media/demo/../labels.sqlite"}) {
        auto r = c.Get(path.c_str());
        ASSERT_TRUE(r) << path;
        EXPECT_TRUE(r->status == 404 || r->status == 400) << path << " -> " << r->status;
        EXPECT_EQ(r->body.find("secret"), std::string::npos) << path;
        EXPECT_EQ(r->body.find("id,video"), std::string::npos) << path;
        EXPECT_EQ(r->body.find("root:"), std::string::npos) << path;
    }
}

TEST_F(HttpTest, CompareShowsTwoVersionsInRandomOrderAndRecordsIt) {
    start(/*raters=*/1);
    auto c = server->client();
    std::set<std::string> seen_pairs;
    int left_first = 0;
    for (int i = 0; i < 4; ++i) {
        auto next = post_json(c, "/api/compare/next", {{"annotator", "ana"}});
        ASSERT_EQ(next.status, 200) << next.text;
        ASSERT_FALSE(next.body["done"].get<bool>());
        const auto l = next.body["left"]["id"].get<std::string>(), r = next.body["right"]["id"].get<std::string>();
        EXPECT_EQ(split_clip_id(l).first, split_clip_id(r).first);
        EXPECT_NE(l, r);
        EXPECT_TRUE(seen_pairs.insert(pair_key(l, r)).second);
        left_first += l < r;
        const std::string choice = i == 0 ? "left" : i == 1 ? "right" : "tie";
        auto w = post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", l}, {"right", r}, {"choice", choice},
                                                   {"response_ms", 900}});
        ASSERT_EQ(w.status, 201) << w.text;
        EXPECT_EQ(w.body["winner"], choice == "left" ? l : choice == "right" ? r : "");
    }
    EXPECT_TRUE(post_json(c, "/api/compare/next", {{"annotator", "ana"}}).body["done"].get<bool>());   // 4 pairs, 1 rater each
    const auto rows = server->server().store().comparisons();
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].choice, "left");
    EXPECT_EQ(rows[0].winner, rows[0].left);
    EXPECT_EQ(rows[1].winner, rows[1].right);
    EXPECT_EQ(rows[2].winner, "");
    EXPECT_EQ(rows[0].left_version, server->server().clips().find(rows[0].left)->version);

    // Undo, then judge it again; refusals.
    auto undo = post_json(c, "/api/comparisons/undo", {{"annotator", "ana"}});
    EXPECT_EQ(undo.status, 200) << undo.text;
    EXPECT_EQ(server->server().store().comparisons().size(), 3u);
    EXPECT_EQ(post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", "a__s1"}, {"right", "b__s1"}, {"choice", "left"}}).status,
              400);   // different videos
    EXPECT_EQ(post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", "a__s1"}, {"right", "a__s1"}, {"choice", "tie"}}).status,
              400);
    EXPECT_EQ(post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", "a__s1"}, {"right", "a__s9"}, {"choice", "tie"}}).status,
              404);
    EXPECT_EQ(post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", "a__s1"}, {"right", "a__s2"}, {"choice", "both"}}).status,
              400);
    EXPECT_EQ(post_json(c, "/api/compare/skip", {{"annotator", "bob"}, {"left", "a__s1"}, {"right", "a__s2"}}).status, 200);
    auto bob = post_json(c, "/api/compare/next", {{"annotator", "bob"}});
    if (!bob.body["done"].get<bool>()) {
        EXPECT_NE(pair_key(bob.body["left"]["id"], bob.body["right"]["id"]), pair_key("a__s1", "a__s2"));
    }
}

TEST_F(HttpTest, AgreementAndExports) {
    start(/*raters=*/3);
    auto c = server->client();
    // ana and bob agree on a__s1, a__s2, disagree on c; cat rates a__s1.
    label(c, "ana", "a__s1", "good");
    label(c, "bob", "a__s1", "good");
    label(c, "ana", "a__s2", "bad");
    label(c, "bob", "a__s2", "bad");
    label(c, "ana", "c", "good");
    label(c, "bob", "c", "medium");
    label(c, "cat", "a__s1", "good");
    post_json(c, "/api/comparisons", {{"annotator", "ana"}, {"left", "b__s2"}, {"right", "b__s1"}, {"choice", "left"}});
    auto a = get(c, "/api/agreement");
    ASSERT_EQ(a.status, 200) << a.text;
    EXPECT_EQ(a.body["clips"].size(), 7u);
    EXPECT_EQ(a.body["clips"][0]["clip_id"], "a__s1");
    EXPECT_EQ(a.body["clips"][0]["good"], 3);
    EXPECT_EQ(a.body["fleiss_clips"], 3);
    EXPECT_TRUE(a.body["fleiss_kappa"].is_number());
    ASSERT_EQ(a.body["cohen_kappa"].size(), 3u);   // ana-bob share 3 clips, ana-cat and bob-cat one each
    EXPECT_EQ(a.body["cohen_kappa"][0]["a"], "ana");
    EXPECT_EQ(a.body["cohen_kappa"][0]["b"], "bob");
    EXPECT_EQ(a.body["cohen_kappa"][0]["shared"], 3);
    EXPECT_TRUE(a.body["cohen_kappa"][1]["kappa"].is_null());   // one shared clip, both good: undefined
    EXPECT_EQ(a.body["comparisons"], 1);
    EXPECT_EQ(a.body["pairs"][0]["a"], "b__s1");
    EXPECT_EQ(a.body["pairs"][0]["b_wins"], 1);

    auto csv = c.Get("/api/export/labels.csv");
    ASSERT_TRUE(csv);
    EXPECT_EQ(csv->status, 200);
    EXPECT_EQ(csv->body.rfind("clip_id,label,annotator,time,version,response_ms\n", 0), 0u);
    EXPECT_NE(csv->body.find("\na__s1,good,ana,"), std::string::npos);
    EXPECT_NE(csv->get_header_value("Content-Disposition").find("labels.csv"), std::string::npos);
    auto jsonl = c.Get("/api/export/labels.jsonl");
    ASSERT_TRUE(jsonl);
    const auto first_line = json::parse(jsonl->body.substr(0, jsonl->body.find('\n')));
    EXPECT_EQ(first_line["clip_id"], "a__s1");
    EXPECT_EQ(first_line["label"], "good");
    EXPECT_EQ(first_line["annotator"], "ana");
    EXPECT_EQ(first_line["response_ms"], 1234);
    auto comparisons = c.Get("/api/export/comparisons.csv");
    ASSERT_TRUE(comparisons);
    EXPECT_NE(comparisons->body.find("\nb,b__s2,b__s1,left,b__s2,ana,"), std::string::npos) << comparisons->body;
}

TEST_F(HttpTest, TokenGuardsApiAndMediaButNotThePage) {
    start(2, "s3cret");
    auto c = server->client();
    EXPECT_EQ(c.Get("/")->status, 200);
    EXPECT_EQ(get(c, "/api/info").body["token_required"], true);
    EXPECT_EQ(post_json(c, "/api/rate/next", {{"annotator", "ana"}}).status, 401);
    EXPECT_EQ(c.Get("/media/clip/c")->status, 401);
    EXPECT_EQ(get(c, "/api/export/labels.csv").status, 401);
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", "ana"}, {"token", "wrong"}}).status, 401);
    auto login = c.Post("/api/login", json{{"annotator", "ana"}, {"token", "s3cret"}}.dump(), "application/json");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 200);
    const auto cookie = login->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    const auto value = cookie.substr(0, cookie.find(';'));
    EXPECT_EQ(c.Post("/api/rate/next", {{"Cookie", "other=1; " + value}}, R"({"annotator": "ana"})", "application/json")->status, 200);
    EXPECT_EQ(c.Get("/media/clip/c", {{"Cookie", value}})->status, 200);
    EXPECT_EQ(c.Post("/api/rate/next", {{"X-V2A-Token", "s3cret"}}, R"({"annotator": "ana"})", "application/json")->status, 200);
    EXPECT_EQ(c.Post("/api/rate/next", {{"X-V2A-Token", "s3cre"}}, R"({"annotator": "ana"})", "application/json")->status, 401);
}

TEST_F(HttpTest, AnOpenServerOnAReachableAddressIsRefused) {
    ServerOptions o;
    o.db = dir / "labels.sqlite";
    o.host = "0.0.0.0";
    ClipRegistryOptions r;
    r.manifest = write_clips(dir.path());
    try {
        Server refused(o, ClipRegistry::load(r));
        ADD_FAILURE() << "a server on 0.0.0.0 without --token was built";
    } catch (const v2a::Error& e) {
        EXPECT_EQ(e.kind(), v2a::ErrorKind::Usage);
        EXPECT_NE(std::string(e.what()).find("--token"), std::string::npos) << e.what();
    }
    o.token = "s3cret";
    EXPECT_NO_THROW(Server(o, ClipRegistry::load(r)));  // built, never bound
}

TEST(SameSecretTest, ComparesWholeStringsOfAnyLength) {
    EXPECT_TRUE(same_secret("s3cret", "s3cret"));
    EXPECT_FALSE(same_secret("s3cre", "s3cret"));      // a prefix
    EXPECT_FALSE(same_secret("s3crets3cret", "s3cret"));  // the secret repeated: longer is not equal
    EXPECT_FALSE(same_secret("", "s3cret"));
    EXPECT_FALSE(same_secret("s3creT", "s3cret"));
    EXPECT_TRUE(same_secret("", ""));
}

TEST(FailedSignInsTest, BlocksAnAddressAfterTooManyFailuresUntilTheWindowPasses) {
    using namespace std::chrono;
    FailedSignIns limit(3, seconds(60));
    const auto t0 = FailedSignIns::Clock::time_point{} + hours(1);
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(limit.blocked("10.0.0.1", t0 + seconds(i)));
        limit.failed("10.0.0.1", t0 + seconds(i));
    }
    EXPECT_TRUE(limit.blocked("10.0.0.1", t0 + seconds(10)));
    EXPECT_FALSE(limit.blocked("10.0.0.2", t0 + seconds(10)));  // per address
    EXPECT_FALSE(limit.blocked("10.0.0.1", t0 + seconds(61)));  // the first failure has left the window
}

TEST_F(HttpTest, WrongTokensFromOneAddressAreRateLimited) {
    start(2, "s3cret");
    auto c = server->client();
    int refused = 0;
    for (int i = 0; i < 10; ++i) refused += post_json(c, "/api/login", {{"annotator", "ana"}, {"token", "guess"}}).status == 401;
    EXPECT_EQ(refused, 10);
    // Blocked now: even the right token, at sign-in and on the API, until a minute has passed.
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", "ana"}, {"token", "s3cret"}}).status, 429);
    EXPECT_EQ(c.Post("/api/rate/next", {{"X-V2A-Token", "s3cret"}}, R"({"annotator": "ana"})", "application/json")->status, 429);
    EXPECT_EQ(get(c, "/api/info").status, 200);  // what needs no token still answers
}

TEST_F(HttpTest, JsonRoutesKeepTheirLimitWhenTheDemoTakesUploads) {
    // With the Demo on, httplib's limit is the upload's (MiBs); every JSON route still refuses > 64 KiB.
    ServerOptions o;
    o.db = dir / "labels.sqlite";
    o.demo = write_tiny_model(dir.path());
    ClipRegistryOptions r;
    r.manifest = write_clips(dir.path());
    server = std::make_unique<RunningServer>(o, ClipRegistry::load(r));
    auto c = server->client();
    auto big = to_reply(c.Post("/api/labels", std::string(200 * 1024, ' '), "application/json"));
    EXPECT_EQ(big.status, 413) << big.text;
    EXPECT_NE(error_of(big).find("65536"), std::string::npos) << big.text;
    EXPECT_EQ(to_reply(c.Post("/api/login", std::string(100 * 1024, ' '), "application/json")).status, 413);
    EXPECT_EQ(post_json(c, "/api/login", {{"annotator", "ana"}}).status, 200);  // small bodies pass
}

TEST_F(HttpTest, ForeignHostHeaderIsRefusedOnLoopback) {
    start();
    auto c = server->client();
    EXPECT_EQ(c.Get("/api/info", {{"Host", "localhost:1234"}})->status, 200);
    EXPECT_EQ(c.Get("/api/info", {{"Host", "[::1]:1234"}})->status, 200);
    auto r = c.Get("/api/info", {{"Host", "evil.example:8080"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_NE(r->body.find("error"), std::string::npos);
}

TEST_F(HttpTest, DemoIsOffWithoutAModel) {
    start();
    auto c = server->client();
    httplib::MultipartFormDataItems items{{"video", "x", "a.mp4", "video/mp4"}};
    auto r = to_reply(c.Post("/api/demo/jobs", {{"X-V2A-Request", "1"}}, items));
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(error_of(r).find("--model"), std::string::npos);
    EXPECT_EQ(get(c, "/api/demo/jobs/0123456789abcdef").status, 503);
}

}  // namespace
}  // namespace v2a::serve::test
