import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MesureBindings

/// Uploads through URLSession. The iOS library carries no HTTP client of its
/// own, so this is the default of `MesureSDK.start`.
///
/// Every request is answered exactly once: URLSession calls a data task's
/// completion handler once, and each path below ends in one `deliver`.
/// Redirects are refused (a 307 or 308 would resend the hits, possibly to
/// another host): the 3xx is the answer, and the core keeps the batch.
/// Any status but a 2xx is answered as soon as its headers arrive. A 2xx
/// answer is delivered with its body once the body is read: a collector's
/// dialect may read in it what was counted (Matomo's
/// `{"tracked":n,"invalid":m}`). At most `maxResponseBytes` of a response
/// body are read, then the task is cancelled (a 2xx answer is delivered at
/// that point with the bytes read): a portal's page or an endless body
/// costs nothing.
public final class URLSessionHttpClient: PlatformHttpClient, @unchecked Sendable {
    /// The most of a response body read: a 2xx answer's goes to the SDK, any other is discarded.
    public static let maxResponseBytes = 64 * 1024

    private let session: URLSession
    private let tasks = TaskAnswers()

    public init() {
        // Ephemeral, no cookies, no cache, no credentials: an upload must not
        // carry or leave anything that could tie two requests together
        // beyond what the visitor mode allows in the body.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        configuration.urlCredentialStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        // The session keeps its delegate until invalidated (deinit below).
        session = URLSession(configuration: configuration, delegate: SessionDelegate(tasks), delegateQueue: nil)
    }

    deinit {
        // Lets requests in flight finish (and answer), then frees the session.
        session.finishTasksAndInvalidate()
    }

    public func send(request: HttpRequest, completion: UploadCompletion) throws {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
            Self.deliver(.failure(.other, "not an http(s) URL: \(request.url)"), to: completion)
            return
        }
        let timeout = TimeInterval(request.timeoutMs) / 1000
        var urlRequest = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = "POST"
        urlRequest.httpShouldHandleCookies = false
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        // The core's headers include its User-Agent, which replaces URLSession's
        // (the app's name and build, the Darwin version). URLSession would also
        // send the user's languages: details the visitor mode may withhold
        // from the body must not travel in the headers.
        if urlRequest.value(forHTTPHeaderField: "Accept-Language") == nil {
            urlRequest.setValue("*", forHTTPHeaderField: "Accept-Language")
        }
        urlRequest.httpBody = request.body

        let deadline = Deadline()
        let task = session.dataTask(with: urlRequest)
        tasks.register(task.taskIdentifier, completion: completion, deadline: deadline)
        // URLRequest's timeout is an idle timeout; the SDK's is for the whole
        // request. Cancelling at the deadline frees the connection the SDK
        // has stopped waiting for.
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + timeout) { [weak task] in
            guard let task, task.state == .running else { return }
            deadline.pass()
            task.cancel()
        }
        task.resume()
    }

    enum Outcome: Equatable {
        case response(status: Int32, retryAfter: String?)
        case failure(HttpFailure, String)
    }

    /// What URLSession's answer means to the SDK.
    static func outcome(response: URLResponse?, error: Error?, deadlinePassed: Bool = false) -> Outcome {
        if let error {
            guard let urlError = error as? URLError else {
                return .failure(.other, String(describing: error))
            }
            switch urlError.code {
            case .timedOut:
                return .failure(.timeout, urlError.localizedDescription)
            case .cancelled where deadlinePassed:
                return .failure(.timeout, "no answer within the request timeout")
            default:
                return .failure(.network, "\(urlError.code.rawValue): \(urlError.localizedDescription)")
            }
        }
        guard let http = response as? HTTPURLResponse else {
            return .failure(.other, "not an HTTP response")
        }
        guard let status = Int32(exactly: http.statusCode) else {
            return .failure(.other, "HTTP status \(http.statusCode)")
        }
        return .response(status: status, retryAfter: header("Retry-After", in: http))
    }

    /// Answers the SDK; a 2xx response carries `body` (what was read of it).
    static func deliver(_ outcome: Outcome, body: Data = Data(), to completion: UploadCompletion) {
        // false means the SDK stopped waiting (timeout, shutdown): the batch
        // is still queued and nothing is left to do.
        switch outcome {
        case let .response(status, retryAfter) where isSuccess(status):
            _ = completion.responseWithBody(status: status, retryAfter: retryAfter, body: body)
        case let .response(status, retryAfter):
            _ = completion.response(status: status, retryAfter: retryAfter)
        case let .failure(kind, message):
            _ = completion.failure(kind: kind, message: message)
        }
    }

    static func isSuccess(_ status: Int32) -> Bool {
        (200..<300).contains(status)
    }

    /// Header names are case-insensitive; `allHeaderFields` keeps the server's spelling.
    private static func header(_ name: String, in response: HTTPURLResponse) -> String? {
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, key.caseInsensitiveCompare(name) == .orderedSame {
                return value as? String
            }
        }
        return nil
    }
}

/// Whether the client gave up on a request itself (a cancel then means timeout).
final class Deadline: @unchecked Sendable {
    private let lock = NSLock()
    private var didPass = false

    var passed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return didPass
    }

    func pass() {
        lock.lock()
        didPass = true
        lock.unlock()
    }
}

/// The answers owed, by task: the first outcome of each task is delivered,
/// later ones ignored. Any status but a 2xx is answered on its headers; a
/// 2xx answer waits for its body (bounded), then goes with it.
final class TaskAnswers: @unchecked Sendable {
    private struct Pending {
        let completion: UploadCompletion
        let deadline: Deadline
        var answered = false
        /// A 2xx answer's status and Retry-After, while its body is read.
        var success: (status: Int32, retryAfter: String?)?
        /// The body read so far, up to the bound, until answered.
        var body = Data()
        var bodyBytes = 0
    }

    private let lock = NSLock()
    private var pending: [Int: Pending] = [:]

    func register(_ task: Int, completion: UploadCompletion, deadline: Deadline) {
        lock.lock(); defer { lock.unlock() }
        pending[task] = Pending(completion: completion, deadline: deadline)
    }

    /// The response's headers arrived: answers at once unless it is a 2xx,
    /// whose body is read first.
    func answer(_ task: Int, response: URLResponse) {
        let outcome = URLSessionHttpClient.outcome(response: response, error: nil)
        lock.lock()
        guard var p = pending[task], !p.answered else { lock.unlock(); return }
        if case let .response(status, retryAfter) = outcome, URLSessionHttpClient.isSuccess(status) {
            p.success = (status, retryAfter)
        } else {
            p.answered = true
        }
        pending[task] = p
        lock.unlock()
        if p.answered {
            URLSessionHttpClient.deliver(outcome, to: p.completion)
        }
    }

    /// Counts body bytes and keeps them while an answer is owed; false once
    /// past the bound (the caller cancels), a 2xx answer then delivered
    /// with the bytes within it.
    func consume(_ task: Int, data: Data) -> Bool {
        lock.lock()
        guard var p = pending[task] else { lock.unlock(); return false }
        let room = max(0, URLSessionHttpClient.maxResponseBytes - p.bodyBytes)
        p.bodyBytes += data.count
        if !p.answered {
            p.body.append(data.prefix(room))
        }
        let within = p.bodyBytes <= URLSessionHttpClient.maxResponseBytes
        var bounded: (outcome: URLSessionHttpClient.Outcome, body: Data)?
        if !within, !p.answered, let success = p.success {
            p.answered = true
            bounded = (.response(status: success.status, retryAfter: success.retryAfter), p.body)
            p.body = Data()
        }
        pending[task] = p
        lock.unlock()
        if let bounded {
            URLSessionHttpClient.deliver(bounded.outcome, body: bounded.body, to: p.completion)
        }
        return within
    }

    /// The task ended: answers if nothing was answered yet, then forgets it.
    /// A 2xx answer stands even if its body was cut short (our deadline, a
    /// reset): the collector took the hits, and sending them again would
    /// count them twice.
    func finish(_ task: Int, response: URLResponse?, error: Error?) {
        lock.lock()
        let p = pending.removeValue(forKey: task)
        lock.unlock()
        guard let p, !p.answered else { return }
        if let success = p.success {
            URLSessionHttpClient.deliver(.response(status: success.status, retryAfter: success.retryAfter), body: p.body, to: p.completion)
        } else {
            let outcome = URLSessionHttpClient.outcome(response: response, error: error, deadlinePassed: p.deadline.passed)
            URLSessionHttpClient.deliver(outcome, body: p.body, to: p.completion)
        }
    }
}

/// Refuses redirects, answers on the response's headers (a 2xx once its body is read), bounds the body.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let tasks: TaskAnswers

    init(_ tasks: TaskAnswers) {
        self.tasks = tasks
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        // nil: the redirect response itself is the answer.
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        tasks.answer(dataTask.taskIdentifier, response: response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if !tasks.consume(dataTask.taskIdentifier, data: data) {
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        tasks.finish(task.taskIdentifier, response: task.response, error: error)
    }
}
