<?php
// Router for PHP's built-in server in front of Debian's WordPress (see server.py):
// /wp-content/* comes from WP_CONTENT_DIR's parent (/var/lib/wordpress), existing files under
// the document root are served (or run) by the built-in server, anything else goes to
// index.php (pretty permalinks, /wp-json/...).
//
// Test hook: a path starting with /__strip_auth__ is served as the rest of the path with the
// Authorization header removed, as a misconfigured host (Apache + CGI) does. The e2e tests
// use it to check the client's diagnosis; it exists only in this test router.
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH));
if (str_contains($path, "\0") || str_contains($path, '/..')) {
    http_response_code(400);
    return true;
}
$docroot = $_SERVER['DOCUMENT_ROOT'];
$rewritten = false;
if (str_starts_with($path, '/__strip_auth__')) {
    $path = substr($path, strlen('/__strip_auth__')) ?: '/';
    $_SERVER['REQUEST_URI'] = substr($_SERVER['REQUEST_URI'], strlen('/__strip_auth__')) ?: '/';
    unset($_SERVER['HTTP_AUTHORIZATION'], $_SERVER['PHP_AUTH_USER'], $_SERVER['PHP_AUTH_PW'], $_SERVER['AUTH_TYPE']);
    $rewritten = true;
}
if (str_starts_with($path, '/wp-content/')) {
    $file = '/var/lib/wordpress' . $path;
    if (is_file($file) && !str_ends_with(strtolower($file), '.php')) {
        $types = [
            'css' => 'text/css', 'js' => 'application/javascript', 'json' => 'application/json',
            'png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg', 'gif' => 'image/gif',
            'webp' => 'image/webp', 'svg' => 'image/svg+xml', 'ico' => 'image/x-icon', 'woff' => 'font/woff',
            'woff2' => 'font/woff2', 'txt' => 'text/plain', 'html' => 'text/html', 'pdf' => 'application/pdf',
        ];
        $ext = strtolower(pathinfo($file, PATHINFO_EXTENSION));
        header('Content-Type: ' . ($types[$ext] ?? 'application/octet-stream'));
        header('Content-Length: ' . filesize($file));
        readfile($file);
        return true;
    }
    if (!is_file($docroot . $path)) {
        http_response_code(404);
        return true;
    }
}
$script = '/index.php';
if ($path !== '/' && file_exists($docroot . $path)) {
    if (!$rewritten) {
        return false;
    }
    if (is_dir($docroot . $path)) {
        $script = rtrim($path, '/') . '/index.php';
    } elseif (str_ends_with($path, '.php')) {
        $script = $path;
    } else {
        readfile($docroot . $path);
        return true;
    }
}
$_SERVER['SCRIPT_NAME'] = $script;
$_SERVER['PHP_SELF'] = $script;
$_SERVER['SCRIPT_FILENAME'] = $docroot . $script;
chdir(dirname($docroot . $script));
require $docroot . $script;
return true;
