// A minimal HTTP/1.1 exchange on a raw TLS socket, for generators that must control connections
// exactly (one request per connection, or connections held open idle). Responses carry
// content-length or chunked encoding; anything else is read to the end of the connection.
import tls from 'node:tls';

export function connect(ip, port, servername) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: ip, port, servername, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Sends GET `path` and resolves with the status code once the whole response has arrived. */
export function get(socket, host, path = '/', close = false) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let status = 0;
    let need = -1; // total bytes of head+body, when known
    let chunked = false;
    let headEnd = -1;
    const done = (err) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      err ? reject(err) : resolve(status);
    };
    const onData = (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (headEnd < 0) {
        headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.subarray(0, headEnd).toString('latin1');
        status = Number(head.slice(9, 12));
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
        if (cl) need = headEnd + 4 + Number(cl[1]);
      }
      if (need >= 0 && buf.length >= need) done();
      else if (chunked && buf.subarray(-5).toString('latin1') === '0\r\n\r\n') done();
    };
    const onEnd = () => (status ? done() : done(new Error('connection closed before a response')));
    const onError = (e) => done(e);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: sandcat-bench\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
  });
}
