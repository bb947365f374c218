/// Who typically calls an endpoint; used to draw per-key endpoint sets.
struct Audience: OptionSet, Hashable, Sendable {
    let rawValue: Int
    static let service = Audience(rawValue: 1)
    static let batch = Audience(rawValue: 2)
    static let mobile = Audience(rawValue: 4)
    static let partner = Audience(rawValue: 8)
    static let rare = Audience(rawValue: 16)
    static let none: Audience = []
}

/// A piece of a path template: literal text or a placeholder filled per request.
enum TemplatePiece: Hashable, Sendable {
    case literal(String)
    case orderID, uuid, sku, invoiceID, paymentID, exportID, storeID
    case orderStatus, page, category, searchTerm, yesterday, platform
}

/// One API operation: method, path template and the shape of its responses.
struct EndpointTemplate: Sendable {
    /// HTTP method.
    let method: String
    /// Human-readable template such as `/v1/orders/{id}`, used in labels.
    let pattern: String
    /// Parsed pieces of `pattern`'s concrete form.
    let pieces: [TemplatePiece]
    /// Index into ``APICatalogue/services``.
    let service: Int
    /// Status of a successful call.
    let success: Int
    /// Median response body size in bytes.
    let bytesMedian: Double
    /// Median upstream latency in milliseconds.
    let latencyMedian: Double
    /// Who uses it.
    let audience: Audience
    /// Relative popularity when drawing endpoint sets.
    let popularity: Double

    /// Label form, e.g. `GET /v1/orders/{id}`.
    let label: String

    /// Whether the path addresses a single resource (and so can answer 404).
    var hasIdentifier: Bool {
        pieces.contains { piece in
            switch piece {
            case .orderID, .uuid, .sku, .invoiceID, .paymentID, .exportID, .storeID: return true
            default: return false
            }
        }
    }

    /// Whether the request carries a body.
    var hasBody: Bool {
        method == "POST" || method == "PUT" || method == "PATCH"
    }
}

/// A Kong service with its single route.
struct GatewayService: Sendable {
    /// Service name, e.g. `orders`.
    let name: String
    /// Route path prefixes.
    let paths: [String]
    /// Upstream target addresses (internal).
    let upstreams: [String]
}

/// The synthetic API: its endpoints, Kong services and the paths nobody should call.
enum APICatalogue {
    /// Kong services in a fixed order; endpoint templates refer to them by index.
    static let services: [GatewayService] = [
        GatewayService(name: "orders", paths: ["/v1/orders", "/v2/orders"], upstreams: ["10.0.0.5", "10.0.0.6"]),
        GatewayService(name: "customers", paths: ["/v1/customers"], upstreams: ["10.0.0.7"]),
        GatewayService(
            name: "catalog",
            paths: ["/v1/products", "/v1/inventory"],
            upstreams: ["10.0.0.8", "10.0.0.9"]
        ),
        GatewayService(name: "billing", paths: ["/v1/invoices", "/v1/payments"], upstreams: ["10.0.0.10"]),
        GatewayService(name: "search", paths: ["/v2/search"], upstreams: ["10.0.0.11", "10.0.0.12"]),
        GatewayService(name: "fulfilment", paths: ["/v1/shipments", "/v1/stores"], upstreams: ["10.0.0.13"]),
        GatewayService(name: "storefront", paths: ["/v1/carts", "/v1/me", "/v1/config"], upstreams: ["10.0.0.14"]),
        GatewayService(name: "telemetry", paths: ["/v1/events"], upstreams: ["10.0.0.15"]),
        GatewayService(name: "reporting", paths: ["/v1/exports", "/v1/reports"], upstreams: ["10.0.0.16"]),
        GatewayService(name: "identity", paths: ["/v1/auth", "/v1/webhooks"], upstreams: ["10.0.0.17"]),
        GatewayService(name: "admin", paths: ["/v1/admin", "/internal"], upstreams: ["10.0.0.18"]),
        GatewayService(name: "public", paths: ["/v1/status", "/"], upstreams: ["10.0.0.19"]),
    ]

    /// Endpoints regular keys use.
    static let endpoints: [EndpointTemplate] = [
        make("GET", "/v1/orders/{order}", 0, 200, 1200, 35, [.service, .partner, .mobile], 10),
        make("GET", "/v1/orders/{order}?expand=items", 0, 200, 3400, 60, [.service, .partner], 6),
        make("GET", "/v1/orders?status={status}&page={page}", 0, 200, 8200, 90, [.service, .partner, .batch], 6),
        make("POST", "/v1/orders", 0, 201, 900, 120, [.service, .partner, .mobile], 5),
        make("PATCH", "/v1/orders/{order}", 0, 200, 1100, 80, [.service], 2),
        make("GET", "/v1/customers/{uuid}", 1, 200, 700, 30, [.service, .partner, .mobile], 7),
        make("PATCH", "/v1/customers/{uuid}", 1, 200, 720, 55, [.service], 2),
        make(
            "GET",
            "/v1/customers?updated_since={yesterday}T00%3A00%3A00Z&limit=100",
            1,
            200,
            15000,
            140,
            [.batch, .service],
            3
        ),
        make("GET", "/v1/products/{sku}", 2, 200, 1500, 20, [.service, .partner, .mobile, .rare], 9),
        make("GET", "/v1/products?category={category}&limit=50", 2, 200, 12000, 45, [.mobile, .partner, .service], 5),
        make("GET", "/v1/inventory/{sku}/stock", 2, 200, 150, 15, [.service, .partner], 6),
        make("PUT", "/v1/inventory/{sku}/stock", 2, 204, 0, 40, [.partner, .service], 3),
        make("GET", "/v1/invoices/{invoice}/pdf", 3, 200, 80000, 250, [.partner, .service, .batch], 3),
        make("GET", "/v1/invoices?customer={uuid}", 3, 200, 2100, 70, [.service, .partner], 3),
        make("POST", "/v1/payments", 3, 201, 600, 350, [.service, .mobile], 3),
        make("GET", "/v1/payments/{payment}", 3, 200, 520, 40, [.service], 2),
        make("GET", "/v2/search?q={q}", 4, 200, 6100, 110, [.mobile, .service, .partner, .rare], 7),
        make("GET", "/v2/search?q={q}&page={page}", 4, 200, 6000, 120, [.mobile], 3),
        make("GET", "/v1/shipments/{order}/tracking", 5, 200, 800, 50, [.mobile, .partner, .service], 4),
        make("POST", "/v1/shipments", 5, 201, 640, 180, [.partner], 2),
        make("GET", "/v1/stores/{store}/availability?sku={sku}", 5, 200, 420, 35, [.mobile, .partner], 3),
        make("PUT", "/v1/carts/{uuid}/items", 6, 200, 1300, 45, [.mobile], 5),
        make("GET", "/v1/carts/{uuid}", 6, 200, 1250, 25, [.mobile], 5),
        make("DELETE", "/v1/carts/{uuid}/items/{sku}", 6, 204, 0, 30, [.mobile], 2),
        make("GET", "/v1/me", 6, 200, 410, 12, [.mobile, .rare], 5),
        make("GET", "/v1/config/mobile?platform={platform}", 6, 200, 2300, 8, [.mobile], 4),
        make("POST", "/v1/events", 7, 202, 2, 6, [.mobile], 8),
        make("POST", "/v1/exports", 8, 202, 160, 90, [.batch], 3),
        make("GET", "/v1/exports/{export}", 8, 200, 400_000, 900, [.batch], 3),
        make("GET", "/v1/reports/daily?date={yesterday}", 8, 200, 30000, 400, [.batch, .partner], 3),
        make("POST", "/v1/auth/token", 9, 200, 350, 60, [.mobile, .partner], 3),
        make("GET", "/v1/webhooks", 9, 200, 900, 25, [.partner, .rare], 2),
        make("POST", "/v1/webhooks/test", 9, 200, 120, 300, [.partner, .rare], 1),
    ]

    /// The endpoints introduced by the mid-period API release.
    static let releaseEndpoints: [EndpointTemplate] = [
        make("GET", "/v2/orders/{order}/refunds", 0, 200, 640, 45, .none, 0),
        make("POST", "/v2/orders/{order}/refunds", 0, 201, 520, 160, .none, 0),
    ]

    /// Sensitive endpoints that no legitimate key uses; only `new_endpoint` incidents call them.
    static let sensitiveEndpoints: [EndpointTemplate] = [
        make("GET", "/v1/admin/users/export", 10, 200, 2_400_000, 1800, .none, 0),
        make("GET", "/internal/keys", 10, 200, 18000, 40, .none, 0),
        make("GET", "/v1/admin/audit-log?limit=1000", 10, 200, 250_000, 600, .none, 0),
        make("GET", "/v1/admin/api-keys", 10, 200, 9000, 35, .none, 0),
        make("GET", "/internal/debug/vars", 10, 200, 42000, 12, .none, 0),
        make("POST", "/v1/admin/users/{uuid}/impersonate", 10, 200, 380, 70, .none, 0),
    ]

    /// The label form of a template, with `{id}`-style placeholders.
    static func labelPattern(_ template: EndpointTemplate) -> String {
        template.label
    }

    private static func make(
        _ method: String,
        _ concrete: String,
        _ service: Int,
        _ success: Int,
        _ bytes: Double,
        _ latency: Double,
        _ audience: Audience,
        _ popularity: Double
    ) -> EndpointTemplate {
        let pieces = parse(concrete)
        var pattern = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): pattern += text
            case .orderID, .invoiceID, .paymentID, .exportID, .storeID: pattern += "{id}"
            case .uuid: pattern += "{uuid}"
            case .sku: pattern += "{sku}"
            case .orderStatus: pattern += "{status}"
            case .page: pattern += "{page}"
            case .category: pattern += "{category}"
            case .searchTerm: pattern += "{q}"
            case .yesterday: pattern += "{date}"
            case .platform: pattern += "{platform}"
            }
        }
        return EndpointTemplate(
            method: method,
            pattern: pattern,
            pieces: pieces,
            service: service,
            success: success,
            bytesMedian: bytes,
            latencyMedian: latency,
            audience: audience,
            popularity: popularity,
            label: method + " " + pattern
        )
    }

    private static func parse(_ text: String) -> [TemplatePiece] {
        var pieces: [TemplatePiece] = []
        var literal = ""
        var name = ""
        var inPlaceholder = false
        for character in text {
            if character == "{" {
                inPlaceholder = true
                name = ""
            } else if character == "}" {
                inPlaceholder = false
                if !literal.isEmpty {
                    pieces.append(.literal(literal))
                    literal = ""
                }
                pieces.append(placeholder(name))
            } else if inPlaceholder {
                name.append(character)
            } else {
                literal.append(character)
            }
        }
        if !literal.isEmpty {
            pieces.append(.literal(literal))
        }
        return pieces
    }

    private static func placeholder(_ name: String) -> TemplatePiece {
        switch name {
        case "order": return .orderID
        case "uuid": return .uuid
        case "sku": return .sku
        case "invoice": return .invoiceID
        case "payment": return .paymentID
        case "export": return .exportID
        case "store": return .storeID
        case "status": return .orderStatus
        case "page": return .page
        case "category": return .category
        case "q": return .searchTerm
        case "yesterday": return .yesterday
        case "platform": return .platform
        default: preconditionFailure("unknown placeholder \(name)")
        }
    }
}

/// Fills a template's placeholders with concrete, key-specific values.
///
/// Each key has its own id space (`salt`), so a key keeps returning to the same orders and customers.
struct PathRenderer {
    private static let statuses = ["open", "paid", "shipped", "cancelled", "refunded"]
    private static let categories = ["shoes", "outdoor", "kitchen", "toys", "garden", "electronics", "books"]
    private static let searchTerms = [
        "red+shoes", "usb-c+cable", "caf%C3%A9+cr%C3%A8me", "winter+jacket", "lego", "sku-10442",
        "garden+hose+25m", "%22gift+card%22", "running", "m%C3%BCsli", "iphone+case", "tent",
    ]

    /// Renders `template` for the key with id space `salt` at time `millis`.
    /// - Parameters:
    ///   - template: The endpoint.
    ///   - salt: The key's id-space salt.
    ///   - millis: Request time (for date placeholders).
    ///   - page: A page number to use instead of a random one (sequential batch paging).
    ///   - rng: Randomness source.
    /// - Returns: Path with query, e.g. `/v1/orders/48213377?expand=items`.
    static func render(
        _ template: EndpointTemplate,
        salt: UInt64,
        at millis: EpochMillis,
        page: Int? = nil,
        using rng: inout SimRandom
    ) -> String {
        var out = ""
        for piece in template.pieces {
            switch piece {
            case .literal(let text):
                out += text
            case .orderID:
                out += String(10_000_000 + Int((salt &* 7919) % 80_000_000) + Int(rng.exponential(mean: 3000)))
            case .uuid:
                let n = UInt64(rng.exponential(mean: 400))
                out += SimRandom.uuid(
                    high: SimRandom.mix(salt, [n, 1]),
                    low: SimRandom.mix(salt, [n, 2])
                )
            case .sku:
                out += "SKU-" + String(10_000 + Int(rng.exponential(mean: 6000)) % 90_000)
            case .invoiceID:
                out += "INV-2026-" + String(100_000 + Int((salt % 700_000)) + rng.int(below: 5000))
            case .paymentID:
                out += "pay_" + rng.base62(count: 14)
            case .exportID:
                out += "exp_" + rng.base62(count: 10)
            case .storeID:
                out += String(1 + Int(salt % 300) + rng.int(below: 40))
            case .orderStatus:
                out += rng.pick(statuses)
            case .page:
                out += String(page ?? (1 + Int(rng.exponential(mean: 2))))
            case .category:
                out += rng.pick(categories)
            case .searchTerm:
                out += rng.pick(searchTerms)
            case .yesterday:
                out += CivilDate(dayNumber: TimeFormat.dayNumber(of: millis) - 1).iso
            case .platform:
                out += rng.chance(0.55) ? "ios" : "android"
            }
        }
        return out
    }
}
