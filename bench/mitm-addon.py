# The empty addon mitmproxy runs with in the benchmark: it sees every request and allows it,
# standing in for sandcat's original Python addon without its policy cost.
class AllowAll:
    def request(self, flow):
        pass


addons = [AllowAll()]
